/*
 * example.c: calls libsoftmaxce through softmaxce.h and checks the results.
 *
 * Computes softmax cross-entropy losses and gradients for small problems and
 * compares them with a naive reference computed here in double precision.
 * Also checks an error path and the version and status functions. Prints a
 * short summary and exits with status 1 if any check failed.
 *
 * Build against the source tree (make test-c does this):
 *   cc -std=c99 -Icapi examples/example.c -Lpython/softmaxce -lsoftmaxce -lm
 * or against an installed copy:
 *   cc -std=c99 examples/example.c $(pkg-config --cflags --libs softmaxce) -lm
 */
#include <math.h>   /* exp, log, fabs, isnan, NAN */
#include <stdint.h> /* int32_t, int64_t */
#include <stdio.h>
#include <string.h> /* memcmp, strcmp, strstr */

#include <softmaxce.h>

#define CLASSES 5
#define ROWS 4

/*
 * Tolerances, relative to 1 + |reference|. float32 results are off by a few
 * units of 2^-24 (6e-8) times |x - max|, which stays below 15 here. float64
 * results are off by a few units of 2^-53 (1.1e-16) times the same factor.
 */
#define TOL_FLOAT32 1e-5
#define TOL_FLOAT64 1e-12

static int failures;

static void fail(const char *check) {
    fprintf(stderr, "FAIL: %s\n", check);
    failures++;
}

/* check_close records a failure unless |got - want| <= tol * (1 + |want|),
 * and returns the error relative to 1 + |want|. */
static double check_close(const char *quantity, double got, double want, double tol) {
    double err = fabs(got - want) / (1 + fabs(want));
    if (!(err <= tol)) {
        fprintf(stderr, "FAIL: %s = %.9g, want %.9g (relative error %.3g > %.3g)\n", quantity,
                got, want, err, tol);
        failures++;
    }
    return err;
}

/*
 * reference_cross_entropy computes, in double, the loss of each row and
 * coef[i] times the gradient of row i, from the definitions. Here lse is the
 * log of the sum of exp over the row, W the sum of the class weights and eps
 * the label smoothing:
 *   loss = (1-eps) w[y] (lse - x[y]) + eps/C sum_c w[c] (lse - x[c])
 *   grad = (1-eps) w[y] (p - onehot(y)) + eps/C (W p - w)
 * Rows labelled ignore get loss 0 and a zero gradient.
 */
static void reference_cross_entropy(const double *x, const int64_t *labels,
                                    const double *weight, double eps, int64_t ignore,
                                    const double *coef, double *loss, double *grad) {
    double total_weight = 0;
    for (int c = 0; c < CLASSES; c++) {
        total_weight += weight[c];
    }
    for (int i = 0; i < ROWS; i++) {
        const double *row = x + i * CLASSES;
        double *g = grad + i * CLASSES;
        int64_t y = labels[i];
        loss[i] = 0;
        for (int c = 0; c < CLASSES; c++) {
            g[c] = 0;
        }
        if (y == ignore) {
            continue;
        }

        double m = row[0], sum = 0;
        for (int c = 1; c < CLASSES; c++) {
            m = row[c] > m ? row[c] : m;
        }
        for (int c = 0; c < CLASSES; c++) {
            sum += exp(row[c] - m);
        }
        double lse = m + log(sum);

        double smooth = 0;
        for (int c = 0; c < CLASSES; c++) {
            smooth += weight[c] * (lse - row[c]);
        }
        loss[i] = (1 - eps) * weight[y] * (lse - row[y]) + eps / CLASSES * smooth;
        for (int c = 0; c < CLASSES; c++) {
            double p = exp(row[c] - lse);
            double onehot = c == y ? 1 : 0;
            g[c] = coef[i] * ((1 - eps) * weight[y] * (p - onehot) +
                              eps / CLASSES * (total_weight * p - weight[c]));
        }
    }
}

static const float logits32[ROWS * CLASSES] = {
    1.5f, -0.3f, 2.2f,  0.7f,  -1.1f, /* label 3 */
    0.2f, 0.2f,  -2.5f, 1.9f,  3.3f,  /* label 0 */
    NAN,  4.0f,  1.0f,  -8.0f, 0.0f,  /* ignored: NaN does not matter */
    9.0f, 7.5f,  8.25f, 10.0f, 6.0f,  /* label 4 */
};
static const double weight64[CLASSES] = {1.0, 0.5, 2.0, 1.5, 0.75};
static const float weight32[CLASSES] = {1.0f, 0.5f, 2.0f, 1.5f, 0.75f};
static const int64_t labels64[ROWS] = {3, 0, -100, 4};

/* check_mean_float32: float32 logits, int64 labels, class weights, an ignored
 * row, mean over the weights of the kept labels. */
static void check_mean_float32(void) {
    sce_options opt = {0};
    opt.reduction = SCE_REDUCTION_MEAN;
    opt.has_ignore_index = 1;
    opt.ignore_index = -100;
    opt.mean_by = SCE_MEAN_BY_WEIGHT_SUM;

    float loss = 0, grad[ROWS * CLASSES];
    int status = sce_sparse_cross_entropy(SCE_FLOAT32, SCE_INT64, ROWS, CLASSES, 1, logits32,
                                          ROWS * CLASSES, labels64, ROWS, weight32, CLASSES,
                                          NULL, 0, &opt, &loss, 1, grad, ROWS * CLASSES);
    if (status != SCE_OK) {
        fprintf(stderr, "FAIL: float32 mean: %s: %s\n", sce_status_name(status),
                sce_last_error());
        failures++;
        return;
    }

    double x[ROWS * CLASSES], ref_loss[ROWS], ref_grad[ROWS * CLASSES], coef[ROWS];
    double denom = 0;
    for (int k = 0; k < ROWS * CLASSES; k++) {
        x[k] = logits32[k];
    }
    for (int i = 0; i < ROWS; i++) {
        if (labels64[i] != -100) {
            denom += weight64[labels64[i]];
        }
    }
    for (int i = 0; i < ROWS; i++) {
        coef[i] = 1 / denom;
    }
    reference_cross_entropy(x, labels64, weight64, 0, -100, coef, ref_loss, ref_grad);
    double want = 0;
    for (int i = 0; i < ROWS; i++) {
        want += ref_loss[i];
    }
    want /= denom;

    check_close("float32 mean loss", loss, want, TOL_FLOAT32);
    double worst = 0;
    for (int k = 0; k < ROWS * CLASSES; k++) {
        double err = check_close("float32 mean grad element", grad[k], ref_grad[k], TOL_FLOAT32);
        worst = err > worst ? err : worst;
    }
    for (int k = 2 * CLASSES; k < 3 * CLASSES; k++) {
        if (grad[k] != 0) {
            fail("float32 mean: gradient of the ignored row is not 0");
        }
    }
    printf("float32/int64, mean, weights, ignored row: loss %.7f (reference %.7f), "
           "largest gradient error %.2g\n",
           loss, want, worst);

    /* The gradient written over a copy of the logits has the same bits. */
    float in_place[ROWS * CLASSES];
    memcpy(in_place, logits32, sizeof in_place);
    status = sce_sparse_cross_entropy(SCE_FLOAT32, SCE_INT64, ROWS, CLASSES, 1, in_place,
                                      ROWS * CLASSES, labels64, ROWS, weight32, CLASSES, NULL,
                                      0, &opt, NULL, 0, in_place, ROWS * CLASSES);
    if (status != SCE_OK || memcmp(in_place, grad, sizeof grad) != 0) {
        fail("float32 gradient in place differs from out of place");
    } else {
        printf("in-place gradient: identical to out of place\n");
    }
}

/* check_none_float64: float64 logits, int32 labels, one loss per row, label
 * smoothing 0.1 and a gradient per row from upstream. */
static void check_none_float64(void) {
    sce_options opt = {0};
    opt.reduction = SCE_REDUCTION_NONE;
    opt.label_smoothing = 0.1;

    const int32_t labels32[ROWS] = {3, 0, 1, 4};
    const int64_t labels_wide[ROWS] = {3, 0, 1, 4};
    const double ones[CLASSES] = {1, 1, 1, 1, 1};
    double upstream[ROWS] = {1.0, -0.5, 2.0, 0.25};
    double x[ROWS * CLASSES];
    for (int k = 0; k < ROWS * CLASSES; k++) {
        x[k] = isnan(logits32[k]) ? 0.125 : logits32[k];
    }

    double loss[ROWS], grad[ROWS * CLASSES];
    int status = sce_sparse_cross_entropy(SCE_FLOAT64, SCE_INT32, ROWS, CLASSES, 1, x,
                                          ROWS * CLASSES, labels32, ROWS, NULL, 0, upstream,
                                          ROWS, &opt, loss, ROWS, grad, ROWS * CLASSES);
    if (status != SCE_OK) {
        fprintf(stderr, "FAIL: float64 none: %s: %s\n", sce_status_name(status),
                sce_last_error());
        failures++;
        return;
    }

    double ref_loss[ROWS], ref_grad[ROWS * CLASSES];
    reference_cross_entropy(x, labels_wide, ones, 0.1, -100, upstream, ref_loss, ref_grad);
    double worst_loss = 0, worst_grad = 0;
    for (int i = 0; i < ROWS; i++) {
        double err = check_close("float64 loss element", loss[i], ref_loss[i], TOL_FLOAT64);
        worst_loss = err > worst_loss ? err : worst_loss;
    }
    for (int k = 0; k < ROWS * CLASSES; k++) {
        double err = check_close("float64 grad element", grad[k], ref_grad[k], TOL_FLOAT64);
        worst_grad = err > worst_grad ? err : worst_grad;
    }
    printf("float64/int32, none, label_smoothing 0.1, grad_output: largest loss error %.2g, "
           "largest gradient error %.2g\n",
           worst_loss, worst_grad);
}

/* check_label_error: a label outside [0, classes) is rejected with a message
 * that names it, and no output is written. */
static void check_label_error(void) {
    sce_options opt = {0};
    opt.reduction = SCE_REDUCTION_SUM;
    opt.has_ignore_index = 1;
    opt.ignore_index = -100;

    const int64_t bad_labels[ROWS] = {3, 7, -100, 4};
    const float sentinel = -12345.5f;
    float loss = sentinel, grad[ROWS * CLASSES];
    for (int k = 0; k < ROWS * CLASSES; k++) {
        grad[k] = sentinel;
    }
    int status = sce_sparse_cross_entropy(SCE_FLOAT32, SCE_INT64, ROWS, CLASSES, 1, logits32,
                                          ROWS * CLASSES, bad_labels, ROWS, NULL, 0, NULL, 0,
                                          &opt, &loss, 1, grad, ROWS * CLASSES);
    const char *message = sce_last_error();
    if (status != SCE_ERROR_LABEL_OUT_OF_RANGE) {
        fprintf(stderr, "FAIL: label 7 with 5 classes: status %s, want "
                        "SCE_ERROR_LABEL_OUT_OF_RANGE\n",
                sce_status_name(status));
        failures++;
    }
    if (strstr(message, "label value 7") == NULL || strstr(message, "position 1") == NULL) {
        fprintf(stderr, "FAIL: label 7 at position 1: message \"%s\" names neither\n",
                message);
        failures++;
    }
    int untouched = loss == sentinel;
    for (int k = 0; k < ROWS * CLASSES; k++) {
        untouched = untouched && grad[k] == sentinel;
    }
    if (!untouched) {
        fail("label 7: an output was written although the call failed");
    }
    printf("label 7 at position 1: %s: %s; outputs untouched\n", sce_status_name(status),
           message);
}

static void check_names_and_version(void) {
    const struct {
        int status;
        const char *name;
    } names[] = {
        {SCE_OK, "SCE_OK"},
        {SCE_ERROR_LABEL_OUT_OF_RANGE, "SCE_ERROR_LABEL_OUT_OF_RANGE"},
        {SCE_ERROR_INVALID_SHAPE, "SCE_ERROR_INVALID_SHAPE"},
        {SCE_ERROR_INVALID_ARGUMENT, "SCE_ERROR_INVALID_ARGUMENT"},
        {SCE_ERROR_INVALID_DTYPE, "SCE_ERROR_INVALID_DTYPE"},
        {SCE_ERROR_OVERLAP, "SCE_ERROR_OVERLAP"},
        {SCE_ERROR_FORKED, "SCE_ERROR_FORKED"},
        {SCE_ERROR_INTERNAL, "SCE_ERROR_INTERNAL"},
        {-1, "SCE_ERROR_UNKNOWN"},
        {1000, "SCE_ERROR_UNKNOWN"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *got = sce_status_name(names[i].status);
        if (got == NULL || strcmp(got, names[i].name) != 0) {
            fprintf(stderr, "FAIL: sce_status_name(%d) = %s, want %s\n", names[i].status,
                    got ? got : "NULL", names[i].name);
            failures++;
        }
    }

    unsigned version = sce_version_number();
    if (version != SCE_VERSION_NUMBER) {
        fprintf(stderr, "FAIL: sce_version_number() = %u, but the header is %u\n", version,
                (unsigned)SCE_VERSION_NUMBER);
        failures++;
    }
    if (strcmp(sce_version_string(), SCE_VERSION_STRING) != 0) {
        fprintf(stderr, "FAIL: sce_version_string() = %s, but the header is %s\n",
                sce_version_string(), SCE_VERSION_STRING);
        failures++;
    }
    printf("library %s (%u), header %s (%u)\n", sce_version_string(), version,
           SCE_VERSION_STRING, (unsigned)SCE_VERSION_NUMBER);
}

int main(void) {
    check_names_and_version();
    check_mean_float32();
    check_none_float64();
    check_label_error();
    if (failures > 0) {
        printf("%d checks failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
