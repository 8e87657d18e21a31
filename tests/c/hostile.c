/*
 * hostile.c: every computing function of softmaxce.h rejects bad input with
 * the documented status, a message naming the argument and the value, and
 * leaves every byte of every buffer untouched; a few valid but unusual
 * inputs (in place, ignore_index >= classes, empty batches with NULL
 * pointers) work.
 *
 * All buffers of a call live in one arena. Before a call the arena is
 * filled with a sentinel byte and then the inputs are written, so outputs
 * and the guard bytes around every buffer hold the sentinel. After a failed
 * call the whole arena must be unchanged; after a successful one every byte
 * outside the outputs must be.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "softmaxce.h"

/* ---- Arena ------------------------------------------------------------- */

#define ARENA_BYTES 2048
#define SENTINEL_BYTE 0xa5

/* Byte offsets of the buffers in the arena, 64 guard bytes or more apart. */
enum {
    OFF_LOGITS = 64,       /* 12 values */
    OFF_LABELS = 256,      /* 3 integer or 12 float labels */
    OFF_WEIGHT = 448,      /* 4 values */
    OFF_GRAD_OUTPUT = 576, /* up to 3 values */
    OFF_LOSS = 704,        /* up to 3 values */
    OFF_GRAD = 832,        /* 12 values */
    OFF_GRAD_LABELS = 1024 /* 12 values */
};

static union {
    double align;
    unsigned char bytes[ARENA_BYTES];
} arena;
static unsigned char before[ARENA_BYTES];

static void *at(int offset) { return arena.bytes + offset; }

static void put_float(void *base, int dtype, int i, double v) {
    if (dtype == SCE_FLOAT64) {
        ((double *)base)[i] = v;
    } else {
        ((float *)base)[i] = (float)v;
    }
}

static double get_float(const void *base, int dtype, int i) {
    if (dtype == SCE_FLOAT64) {
        return ((const double *)base)[i];
    }
    return ((const float *)base)[i];
}

static void put_label(void *base, int label_dtype, int i, int64_t v) {
    if (label_dtype == SCE_INT32) {
        ((int32_t *)base)[i] = (int32_t)v;
    } else {
        ((int64_t *)base)[i] = v;
    }
}

static int dtype_size(int dtype) { return dtype == SCE_FLOAT64 ? 8 : 4; }

/* ---- The default problems ---------------------------------------------- */

/* Logits of 3 positions and 4 classes, row-major. */
static const double LOGITS[12] = {1.5, -0.5, 0.25, 2.0,  -1.0, 0.0,
                                  3.0, 0.5,  0.75, -2.5, 1.25, 0.0};
static const int64_t LABELS[3] = {0, 3, 1};
static const double WEIGHT[4] = {1.0, 2.0, 0.5, 1.0};
/* Dense labels: each row sums to 1. */
static const double DENSE_LABELS[12] = {0.5, 0.5, 0.0, 0.0,   0.0, 0.0,
                                        0.0, 1.0, 0.25, 0.25, 0.25, 0.25};

typedef struct {
    int dtype, label_dtype;
    int64_t outer, classes, inner;
    const void *logits;
    int64_t logits_len;
    const void *labels;
    int64_t labels_len;
    const void *weight;
    int64_t weight_len;
    const void *grad_output;
    int64_t grad_output_len;
    sce_options options;
    const sce_options *options_ptr;
    void *loss;
    int64_t loss_len;
    void *grad;
    int64_t grad_len;
    void *grad_labels; /* dense only */
    int64_t grad_labels_len;
} call_args;

/* reset fills the arena with the sentinel and sets a's pointers to a valid
 * (3, 4, 1) problem of dtype: mean reduction, class weights, ignore_index
 * -100, int64 labels, loss and gradient requested. The inputs are written
 * by write_inputs once the case has changed what it needs. */
static void reset(call_args *a, int dtype) {
    memset(arena.bytes, SENTINEL_BYTE, sizeof arena.bytes);
    memset(a, 0, sizeof *a);
    a->dtype = dtype;
    a->label_dtype = SCE_INT64;
    a->outer = 3;
    a->classes = 4;
    a->inner = 1;
    a->logits = at(OFF_LOGITS);
    a->logits_len = 12;
    a->labels = at(OFF_LABELS);
    a->labels_len = 3;
    a->weight = at(OFF_WEIGHT);
    a->weight_len = 4;
    a->options.reduction = SCE_REDUCTION_MEAN;
    a->options.has_ignore_index = 1;
    a->options.ignore_index = -100;
    a->options_ptr = &a->options;
    a->loss = at(OFF_LOSS);
    a->loss_len = 1;
    a->grad = at(OFF_GRAD);
    a->grad_len = 12;
    a->grad_labels = at(OFF_GRAD_LABELS);
    a->grad_labels_len = 12;
}

/* write_inputs stores the default input values at the default offsets. */
static void write_inputs(const call_args *a, int dense) {
    for (int i = 0; i < 12; i++) {
        put_float(at(OFF_LOGITS), a->dtype, i, LOGITS[i]);
    }
    for (int i = 0; i < 4; i++) {
        put_float(at(OFF_WEIGHT), a->dtype, i, WEIGHT[i]);
    }
    if (dense) {
        for (int i = 0; i < 12; i++) {
            put_float(at(OFF_LABELS), a->dtype, i, DENSE_LABELS[i]);
        }
    } else {
        for (int i = 0; i < 3; i++) {
            put_label(at(OFF_LABELS), a->label_dtype, i, LABELS[i]);
        }
    }
}

static int call_sparse(const call_args *a) {
    return sce_sparse_cross_entropy(a->dtype, a->label_dtype, a->outer, a->classes, a->inner,
                                    a->logits, a->logits_len, a->labels, a->labels_len,
                                    a->weight, a->weight_len, a->grad_output,
                                    a->grad_output_len, a->options_ptr, a->loss, a->loss_len,
                                    a->grad, a->grad_len);
}

static int call_dense(const call_args *a) {
    return sce_dense_cross_entropy(a->dtype, a->outer, a->classes, a->inner, a->logits,
                                   a->logits_len, a->labels, a->labels_len, a->weight,
                                   a->weight_len, a->grad_output, a->grad_output_len,
                                   a->options_ptr, a->loss, a->loss_len, a->grad, a->grad_len,
                                   a->grad_labels, a->grad_labels_len);
}

/* Softmax calls use logits as x (or y), grad_output as dy and grad as the
 * output. */
enum { SOFTMAX, LOG_SOFTMAX, SOFTMAX_BACKWARD, LOG_SOFTMAX_BACKWARD };

static int call_softmax(const call_args *a, int which) {
    switch (which) {
    case SOFTMAX:
        return sce_softmax(a->dtype, a->outer, a->classes, a->inner, a->logits,
                           a->logits_len, a->grad, a->grad_len);
    case LOG_SOFTMAX:
        return sce_log_softmax(a->dtype, a->outer, a->classes, a->inner, a->logits,
                               a->logits_len, a->grad, a->grad_len);
    case SOFTMAX_BACKWARD:
        return sce_softmax_backward(a->dtype, a->outer, a->classes, a->inner, a->logits,
                                    a->logits_len, a->grad_output, a->grad_output_len,
                                    a->grad, a->grad_len);
    }
    return sce_log_softmax_backward(a->dtype, a->outer, a->classes, a->inner, a->logits,
                                    a->logits_len, a->grad_output, a->grad_output_len,
                                    a->grad, a->grad_len);
}

/* ---- Sparse cases ------------------------------------------------------ */

typedef void (*mutator)(call_args *a);

typedef struct {
    const char *name;
    mutator mutate;
    int want; /* status */
    const char *words[3]; /* the message must contain each (NULL ends) */
} hostile_case;

#define MUTATOR(name) static void name(call_args *a)

/* Label values are written by the mutators after write_inputs. */
MUTATOR(label_equal_classes) { put_label(at(OFF_LABELS), a->label_dtype, 1, 4); }
MUTATOR(label_minus_one) { put_label(at(OFF_LABELS), a->label_dtype, 2, -1); }
MUTATOR(label_2pow32_plus_1) {
    put_label(at(OFF_LABELS), a->label_dtype, 0, ((int64_t)1 << 32) + 1);
}
MUTATOR(label_int64_min) { put_label(at(OFF_LABELS), a->label_dtype, 1, INT64_MIN); }
MUTATOR(label_int32_max) {
    a->label_dtype = SCE_INT32;
    for (int i = 0; i < 3; i++) {
        put_label(at(OFF_LABELS), SCE_INT32, i, LABELS[i]);
    }
    put_label(at(OFF_LABELS), SCE_INT32, 2, INT32_MAX);
}
MUTATOR(label_is_default_ignore) {
    a->options.ignore_index = -1;
    put_label(at(OFF_LABELS), a->label_dtype, 0, -100);
}
MUTATOR(label_without_ignore_index) {
    a->options.has_ignore_index = 0;
    put_label(at(OFF_LABELS), a->label_dtype, 1, -100);
}
MUTATOR(weight_nan) { put_float(at(OFF_WEIGHT), a->dtype, 2, NAN); }
MUTATOR(weight_inf) { put_float(at(OFF_WEIGHT), a->dtype, 0, INFINITY); }
MUTATOR(weight_negative) { put_float(at(OFF_WEIGHT), a->dtype, 3, -0.5); }
MUTATOR(smoothing_nan) { a->options.label_smoothing = NAN; }
MUTATOR(smoothing_negative) { a->options.label_smoothing = -0.25; }
MUTATOR(smoothing_above_one) { a->options.label_smoothing = 1.5; }
MUTATOR(z_loss_negative) { a->options.z_loss = -1e-4; }
MUTATOR(z_loss_nan) { a->options.z_loss = NAN; }
MUTATOR(reduction_three) { a->options.reduction = 3; }
MUTATOR(reduction_negative) { a->options.reduction = -1; }
MUTATOR(mean_by_nine) { a->options.mean_by = 9; }
MUTATOR(flags_on_sparse) { a->options.flags = SCE_FLAG_KL_DIVERGENCE; }
MUTATOR(classes_zero) { a->classes = 0; }
MUTATOR(classes_negative) { a->classes = -4; }
MUTATOR(outer_negative) { a->outer = -3; }
MUTATOR(inner_negative) { a->inner = -1; }
MUTATOR(outer_times_classes_overflows) { a->outer = INT64_MAX / 2; }
MUTATOR(classes_2pow62) { a->classes = (int64_t)1 << 62; }
MUTATOR(outer_inner_int64_max) {
    a->outer = INT64_MAX;
    a->inner = INT64_MAX;
}
MUTATOR(logits_len_short) { a->logits_len = 11; }
MUTATOR(logits_len_negative) { a->logits_len = -1; }
MUTATOR(logits_len_int64_min) { a->logits_len = INT64_MIN; }
MUTATOR(logits_len_int64_max) { a->logits_len = INT64_MAX; }
MUTATOR(labels_len_long) { a->labels_len = 4; }
MUTATOR(weight_len_short) { a->weight_len = 3; }
MUTATOR(grad_output_len_two) {
    a->grad_output = at(OFF_GRAD_OUTPUT);
    a->grad_output_len = 2;
}
MUTATOR(loss_len_three_for_mean) { a->loss_len = 3; }
MUTATOR(grad_len_long) { a->grad_len = 13; }
MUTATOR(grad_len_negative) { a->grad_len = -12; }
MUTATOR(logits_null) { a->logits = NULL; }
MUTATOR(labels_null) { a->labels = NULL; }
MUTATOR(weight_null) { a->weight = NULL; }
MUTATOR(grad_output_null) { a->grad_output_len = 1; }
MUTATOR(loss_null) { a->loss = NULL; }
MUTATOR(grad_null) { a->grad = NULL; }
MUTATOR(options_null) { a->options_ptr = NULL; }
MUTATOR(dtype_zero) { a->dtype = 0; }
MUTATOR(dtype_int32) { a->dtype = SCE_INT32; }
MUTATOR(dtype_99) { a->dtype = 99; }
MUTATOR(label_dtype_float32) { a->label_dtype = SCE_FLOAT32; }
MUTATOR(label_dtype_zero) { a->label_dtype = 0; }
MUTATOR(grad_overlaps_labels) { a->grad = at(OFF_LABELS); }
MUTATOR(grad_overlaps_weight) { a->grad = at(OFF_WEIGHT - 8); }
MUTATOR(grad_one_element_into_logits) {
    a->grad = at(OFF_LOGITS + dtype_size(a->dtype));
}
MUTATOR(loss_inside_grad) { a->loss = at(OFF_GRAD + 8); }
MUTATOR(loss_is_logits) { a->loss = at(OFF_LOGITS); }
MUTATOR(loss_is_grad_output) {
    a->grad_output = at(OFF_LOSS);
    a->grad_output_len = 1;
    put_float(at(OFF_LOSS), a->dtype, 0, 1.0);
}
MUTATOR(weight_inside_loss) { a->loss = at(OFF_WEIGHT + 4); }

static const hostile_case SPARSE_CASES[] = {
    {"label equal to classes", label_equal_classes, SCE_ERROR_LABEL_OUT_OF_RANGE,
     {"label value 4", "position 1", "[0, 4)"}},
    {"label -1 not ignored", label_minus_one, SCE_ERROR_LABEL_OUT_OF_RANGE,
     {"-1", "position 2", "[0, 4)"}},
    {"int64 label 2^32+1 does not wrap", label_2pow32_plus_1, SCE_ERROR_LABEL_OUT_OF_RANGE,
     {"4294967297", "[0, 4)"}},
    {"int64 label INT64_MIN", label_int64_min, SCE_ERROR_LABEL_OUT_OF_RANGE,
     {"-9223372036854775808", "[0, 4)"}},
    {"int32 label INT32_MAX", label_int32_max, SCE_ERROR_LABEL_OUT_OF_RANGE,
     {"2147483647", "[0, 4)"}},
    {"label -100 with ignore_index -1", label_is_default_ignore, SCE_ERROR_LABEL_OUT_OF_RANGE,
     {"-100", "ignore index -1"}},
    {"label -100 without an ignore index", label_without_ignore_index,
     SCE_ERROR_LABEL_OUT_OF_RANGE, {"-100", "[0, 4)"}},
    {"weight NaN", weight_nan, SCE_ERROR_INVALID_ARGUMENT, {"weight[2]", "NaN", ">= 0"}},
    {"weight +Inf", weight_inf, SCE_ERROR_INVALID_ARGUMENT, {"weight[0]", "+Inf", "finite"}},
    {"weight negative", weight_negative, SCE_ERROR_INVALID_ARGUMENT, {"weight[3]", "-0.5"}},
    {"label_smoothing NaN", smoothing_nan, SCE_ERROR_INVALID_ARGUMENT,
     {"label_smoothing NaN", "[0, 1]"}},
    {"label_smoothing < 0", smoothing_negative, SCE_ERROR_INVALID_ARGUMENT,
     {"label_smoothing -0.25", "[0, 1]"}},
    {"label_smoothing > 1", smoothing_above_one, SCE_ERROR_INVALID_ARGUMENT,
     {"label_smoothing 1.5", "[0, 1]"}},
    {"z_loss < 0", z_loss_negative, SCE_ERROR_INVALID_ARGUMENT, {"z_loss -0.0001", ">= 0"}},
    {"z_loss NaN", z_loss_nan, SCE_ERROR_INVALID_ARGUMENT, {"z_loss NaN"}},
    {"reduction 3", reduction_three, SCE_ERROR_INVALID_ARGUMENT, {"reduction 3", "2 (mean)"}},
    {"reduction -1", reduction_negative, SCE_ERROR_INVALID_ARGUMENT, {"reduction -1"}},
    {"mean_by 9", mean_by_nine, SCE_ERROR_INVALID_ARGUMENT, {"mean_by 9", "3 (positions)"}},
    {"KL flag with integer labels", flags_on_sparse, SCE_ERROR_INVALID_ARGUMENT, {"flags 1"}},
    {"classes 0", classes_zero, SCE_ERROR_INVALID_SHAPE, {"classes 0", ">= 1"}},
    {"classes -4", classes_negative, SCE_ERROR_INVALID_SHAPE, {"classes -4", ">= 1"}},
    {"outer -3", outer_negative, SCE_ERROR_INVALID_SHAPE, {"outer -3", ">= 0"}},
    {"inner -1", inner_negative, SCE_ERROR_INVALID_SHAPE, {"inner -1", ">= 0"}},
    {"outer * classes overflows", outer_times_classes_overflows, SCE_ERROR_INVALID_SHAPE,
     {"4611686018427387903", "overflows"}},
    {"classes 2^62", classes_2pow62, SCE_ERROR_INVALID_SHAPE,
     {"4611686018427387904", "overflows"}},
    {"outer and inner INT64_MAX", outer_inner_int64_max, SCE_ERROR_INVALID_SHAPE,
     {"9223372036854775807", "overflows"}},
    {"logits_len 11", logits_len_short, SCE_ERROR_INVALID_SHAPE,
     {"logits has 11 elements", "12"}},
    {"logits_len -1", logits_len_negative, SCE_ERROR_INVALID_SHAPE, {"logits_len -1"}},
    {"logits_len INT64_MIN", logits_len_int64_min, SCE_ERROR_INVALID_SHAPE,
     {"logits_len -9223372036854775808"}},
    {"logits_len INT64_MAX", logits_len_int64_max, SCE_ERROR_INVALID_SHAPE,
     {"logits_len 9223372036854775807", "outside"}},
    {"labels_len 4", labels_len_long, SCE_ERROR_INVALID_SHAPE, {"labels has 4 elements", "3"}},
    {"weight_len 3", weight_len_short, SCE_ERROR_INVALID_SHAPE, {"weight has 3 elements", "4"}},
    {"grad_output_len 2 for mean", grad_output_len_two, SCE_ERROR_INVALID_SHAPE,
     {"grad_output has 2 elements", "want 1"}},
    {"loss_len 3 for mean", loss_len_three_for_mean, SCE_ERROR_INVALID_SHAPE,
     {"loss has 3 elements", "want 1"}},
    {"grad_len 13", grad_len_long, SCE_ERROR_INVALID_SHAPE, {"grad has 13 elements", "12"}},
    {"grad_len -12", grad_len_negative, SCE_ERROR_INVALID_SHAPE, {"grad_len -12"}},
    {"logits NULL", logits_null, SCE_ERROR_INVALID_ARGUMENT,
     {"logits is NULL", "logits_len is 12"}},
    {"labels NULL", labels_null, SCE_ERROR_INVALID_ARGUMENT, {"labels is NULL"}},
    {"weight NULL with weight_len 4", weight_null, SCE_ERROR_INVALID_ARGUMENT,
     {"weight is NULL", "4"}},
    {"grad_output NULL with length 1", grad_output_null, SCE_ERROR_INVALID_ARGUMENT,
     {"grad_output is NULL"}},
    {"loss NULL with loss_len 1", loss_null, SCE_ERROR_INVALID_ARGUMENT, {"loss is NULL"}},
    {"grad NULL with grad_len 12", grad_null, SCE_ERROR_INVALID_ARGUMENT, {"grad is NULL"}},
    {"options NULL", options_null, SCE_ERROR_INVALID_ARGUMENT, {"options is NULL"}},
    {"dtype 0", dtype_zero, SCE_ERROR_INVALID_DTYPE, {"dtype 0", "SCE_FLOAT32"}},
    {"dtype SCE_INT32", dtype_int32, SCE_ERROR_INVALID_DTYPE, {"dtype 3", "SCE_FLOAT64"}},
    {"dtype 99", dtype_99, SCE_ERROR_INVALID_DTYPE, {"dtype 99"}},
    {"label_dtype SCE_FLOAT32", label_dtype_float32, SCE_ERROR_INVALID_DTYPE,
     {"label_dtype 1", "SCE_INT32", "SCE_INT64"}},
    {"label_dtype 0", label_dtype_zero, SCE_ERROR_INVALID_DTYPE, {"label_dtype 0"}},
    {"grad overlaps labels", grad_overlaps_labels, SCE_ERROR_OVERLAP,
     {"grad overlaps labels"}},
    {"grad overlaps weight", grad_overlaps_weight, SCE_ERROR_OVERLAP,
     {"grad overlaps weight"}},
    {"grad one element into logits", grad_one_element_into_logits, SCE_ERROR_OVERLAP,
     {"grad partially overlaps logits"}},
    {"loss inside grad", loss_inside_grad, SCE_ERROR_OVERLAP, {"loss overlaps grad"}},
    {"loss is logits", loss_is_logits, SCE_ERROR_OVERLAP, {"loss overlaps logits"}},
    {"loss is grad_output", loss_is_grad_output, SCE_ERROR_OVERLAP,
     {"loss overlaps grad_output"}},
    {"loss inside weight", weight_inside_loss, SCE_ERROR_OVERLAP, {"loss overlaps weight"}},
};

/* ---- Dense and softmax cases ------------------------------------------- */

MUTATOR(dense_ignore_index) { (void)a; /* the default has has_ignore_index 1 */ }
MUTATOR(dense_mean_by_weight_sum) {
    a->options.has_ignore_index = 0;
    a->options.mean_by = SCE_MEAN_BY_WEIGHT_SUM;
}
MUTATOR(dense_grad_labels_is_labels) {
    a->options.has_ignore_index = 0;
    a->grad_labels = at(OFF_LABELS);
}
MUTATOR(dense_grad_labels_is_grad) {
    a->options.has_ignore_index = 0;
    a->grad_labels = at(OFF_GRAD);
}
MUTATOR(dense_labels_len_short) {
    a->options.has_ignore_index = 0;
    a->labels_len = 11;
}
MUTATOR(dense_labels_null) {
    a->options.has_ignore_index = 0;
    a->labels = NULL;
}
MUTATOR(dense_dtype_int64) {
    a->options.has_ignore_index = 0;
    a->dtype = SCE_INT64;
}
MUTATOR(dense_weight_minus_inf) {
    a->options.has_ignore_index = 0;
    put_float(at(OFF_WEIGHT), a->dtype, 1, -INFINITY);
}
MUTATOR(dense_flags_unknown) {
    a->options.has_ignore_index = 0;
    a->options.flags = 6;
}

static const hostile_case DENSE_CASES[] = {
    {"ignore index", dense_ignore_index, SCE_ERROR_INVALID_ARGUMENT, {"ignore_index -100"}},
    {"mean_by weight sum", dense_mean_by_weight_sum, SCE_ERROR_INVALID_ARGUMENT,
     {"mean_by 0", "3 (positions)"}},
    {"grad_labels is labels", dense_grad_labels_is_labels, SCE_ERROR_OVERLAP,
     {"grad_labels overlaps labels"}},
    {"grad_labels is grad", dense_grad_labels_is_grad, SCE_ERROR_OVERLAP,
     {"grad overlaps grad_labels"}},
    {"labels_len 11", dense_labels_len_short, SCE_ERROR_INVALID_SHAPE,
     {"labels has 11 elements", "12"}},
    {"labels NULL", dense_labels_null, SCE_ERROR_INVALID_ARGUMENT, {"labels is NULL"}},
    {"dtype SCE_INT64", dense_dtype_int64, SCE_ERROR_INVALID_DTYPE, {"dtype 4"}},
    {"weight -Inf", dense_weight_minus_inf, SCE_ERROR_INVALID_ARGUMENT, {"weight[1]", "-Inf"}},
    {"unknown flag bits", dense_flags_unknown, SCE_ERROR_INVALID_ARGUMENT, {"flags 6"}},
};

typedef struct {
    const char *name;
    int which;
    mutator mutate;
    int want;
    const char *words[3];
} softmax_case;

MUTATOR(y_one_element_into_x) { a->grad = at(OFF_LOGITS + dtype_size(a->dtype)); }
MUTATOR(y_len_short) { a->grad_len = 8; }
MUTATOR(x_null) { a->logits = NULL; }
MUTATOR(softmax_dtype_int32) { a->dtype = SCE_INT32; }
MUTATOR(dx_one_element_into_dy) {
    a->grad = (unsigned char *)a->grad_output + dtype_size(a->dtype);
}
MUTATOR(dy_len_negative) { a->grad_output_len = -1; }

static const softmax_case SOFTMAX_CASES[] = {
    {"softmax: y one element into x", SOFTMAX, y_one_element_into_x, SCE_ERROR_OVERLAP,
     {"output partially overlaps x"}},
    {"softmax: y_len 8", SOFTMAX, y_len_short, SCE_ERROR_INVALID_SHAPE,
     {"output has 8 elements", "12"}},
    {"softmax: x NULL", SOFTMAX, x_null, SCE_ERROR_INVALID_ARGUMENT, {"x is NULL"}},
    {"softmax: dtype SCE_INT32", SOFTMAX, softmax_dtype_int32, SCE_ERROR_INVALID_DTYPE,
     {"dtype 3"}},
    {"log_softmax: classes 0", LOG_SOFTMAX, classes_zero, SCE_ERROR_INVALID_SHAPE,
     {"classes 0"}},
    {"log_softmax: outer * classes overflows", LOG_SOFTMAX, outer_times_classes_overflows,
     SCE_ERROR_INVALID_SHAPE, {"overflows"}},
    {"softmax_backward: dx one element into dy", SOFTMAX_BACKWARD, dx_one_element_into_dy,
     SCE_ERROR_OVERLAP, {"output partially overlaps dy"}},
    {"log_softmax_backward: dy_len -1", LOG_SOFTMAX_BACKWARD, dy_len_negative,
     SCE_ERROR_INVALID_SHAPE, {"dy_len -1"}},
};

/* ---- Running a case ---------------------------------------------------- */

static int contains_words(const char *message, const char *const words[3]) {
    for (int i = 0; i < 3 && words[i] != NULL; i++) {
        if (strstr(message, words[i]) == NULL) {
            return 0;
        }
    }
    return 1;
}

static void check_rejected(const char *kind, const char *name, int status, int want,
                           const char *const words[3]) {
    const char *message = sce_last_error();
    CHECK(status == want, "%s %s: status %s, want %s (message: %s)", kind, name,
          sce_status_name(status), sce_status_name(want), message);
    CHECK(contains_words(message, words), "%s %s: message \"%s\" lacks \"%s\" / \"%s\" / \"%s\"",
          kind, name, message, words[0], words[1] ? words[1] : "", words[2] ? words[2] : "");
    CHECK(memcmp(arena.bytes, before, sizeof before) == 0,
          "%s %s: a rejected call changed the buffers", kind, name);
}

static void run_sparse_cases(int dtype) {
    for (size_t i = 0; i < sizeof SPARSE_CASES / sizeof SPARSE_CASES[0]; i++) {
        const hostile_case *c = &SPARSE_CASES[i];
        call_args a;
        reset(&a, dtype);
        write_inputs(&a, 0);
        c->mutate(&a);
        memcpy(before, arena.bytes, sizeof before);
        check_rejected("sparse", c->name, call_sparse(&a), c->want, c->words);
    }
}

/* reset_dense sets up a valid dense problem, ignore index on: the cases
 * other than "ignore index" turn it off. */
static void reset_dense(call_args *a, int dtype) {
    reset(a, dtype);
    a->labels_len = 12;
    a->options.mean_by = SCE_MEAN_BY_POSITIONS;
    write_inputs(a, 1);
}

/* reset_softmax sets up a valid softmax problem: x in logits, dy in
 * grad_output, the output in grad. */
static void reset_softmax(call_args *a, int dtype) {
    reset(a, dtype);
    a->grad_output = at(OFF_LABELS);
    a->grad_output_len = 12;
    write_inputs(a, 1);
}

/* test_baselines checks that the unchanged problems of the case tables are
 * valid, so each rejection comes from its case's change. */
static void test_baselines(int dtype) {
    call_args a;
    reset(&a, dtype);
    write_inputs(&a, 0);
    CHECK(call_sparse(&a) == SCE_OK, "sparse baseline failed: %s", sce_last_error());
    reset_dense(&a, dtype);
    a.options.has_ignore_index = 0;
    CHECK(call_dense(&a) == SCE_OK, "dense baseline failed: %s", sce_last_error());
    for (int which = SOFTMAX; which <= LOG_SOFTMAX_BACKWARD; which++) {
        reset_softmax(&a, dtype);
        CHECK(call_softmax(&a, which) == SCE_OK, "softmax %d baseline failed: %s", which,
              sce_last_error());
    }
}

static void run_dense_cases(int dtype) {
    for (size_t i = 0; i < sizeof DENSE_CASES / sizeof DENSE_CASES[0]; i++) {
        const hostile_case *c = &DENSE_CASES[i];
        call_args a;
        reset_dense(&a, dtype);
        c->mutate(&a);
        memcpy(before, arena.bytes, sizeof before);
        check_rejected("dense", c->name, call_dense(&a), c->want, c->words);
    }
}

static void run_softmax_cases(int dtype) {
    for (size_t i = 0; i < sizeof SOFTMAX_CASES / sizeof SOFTMAX_CASES[0]; i++) {
        const softmax_case *c = &SOFTMAX_CASES[i];
        call_args a;
        reset_softmax(&a, dtype);
        c->mutate(&a);
        memcpy(before, arena.bytes, sizeof before);
        check_rejected("softmax", c->name, call_softmax(&a, c->which), c->want, c->words);
    }
}

/* ---- Valid but unusual inputs ------------------------------------------ */

/* check_outside_outputs checks that a successful call changed no byte outside
 * the n output ranges (offset, bytes). */
static void check_outside_outputs(const char *name, const int (*outputs)[2], int n) {
    for (int i = 0; i < ARENA_BYTES; i++) {
        int written = 0;
        for (int k = 0; k < n; k++) {
            if (i >= outputs[k][0] && i < outputs[k][0] + outputs[k][1]) {
                written = 1;
            }
        }
        if (!written && arena.bytes[i] != before[i]) {
            CHECK(0, "%s: byte %d outside the outputs changed", name, i);
            return;
        }
    }
}

/* test_in_place checks that grad == logits gives the bits of a separate grad. */
static void test_in_place(int dtype) {
    call_args a;
    reset(&a, dtype);
    write_inputs(&a, 0);
    int status = call_sparse(&a);
    CHECK(status == SCE_OK, "in place: reference call failed: %s", sce_last_error());
    unsigned char grad[96], loss[8];
    memcpy(grad, at(OFF_GRAD), 12 * (size_t)dtype_size(dtype));
    memcpy(loss, at(OFF_LOSS), (size_t)dtype_size(dtype));

    reset(&a, dtype);
    write_inputs(&a, 0);
    a.grad = at(OFF_LOGITS);
    memcpy(before, arena.bytes, sizeof before);
    status = call_sparse(&a);
    CHECK(status == SCE_OK, "in place: call failed: %s", sce_last_error());
    CHECK(memcmp(at(OFF_LOGITS), grad, 12 * (size_t)dtype_size(dtype)) == 0,
          "in place: gradient over the logits differs from a separate gradient");
    CHECK(memcmp(at(OFF_LOSS), loss, (size_t)dtype_size(dtype)) == 0,
          "in place: loss differs from the loss of a separate gradient");
    const int outputs[2][2] = {{OFF_LOGITS, 12 * dtype_size(dtype)},
                               {OFF_LOSS, dtype_size(dtype)}};
    check_outside_outputs("in place", outputs, 2);
}

/* test_ignore_index_above_classes: ignore_index 9 with 4 classes is valid and
 * skips the positions labelled 9, which then equal a batch without them. */
static void test_ignore_index_above_classes(int dtype) {
    call_args a;
    reset(&a, dtype);
    write_inputs(&a, 0);
    a.options.reduction = SCE_REDUCTION_SUM;
    a.options.ignore_index = 9;
    put_label(at(OFF_LABELS), a.label_dtype, 0, 9);
    memcpy(before, arena.bytes, sizeof before);
    int status = call_sparse(&a);
    CHECK(status == SCE_OK, "ignore_index 9: call failed: %s", sce_last_error());
    const int outputs[2][2] = {{OFF_LOSS, dtype_size(dtype)},
                               {OFF_GRAD, 12 * dtype_size(dtype)}};
    check_outside_outputs("ignore_index 9", outputs, 2);
    for (int c = 0; c < 4; c++) {
        double g = get_float(at(OFF_GRAD), dtype, c);
        CHECK(g == 0.0, "ignore_index 9: gradient of the ignored row [%d] = %g, want 0", c, g);
    }
    double loss = get_float(at(OFF_LOSS), dtype, 0);
    double grad_row1 = get_float(at(OFF_GRAD), dtype, 4);

    /* The same rows without the ignored one: positions 1 and 2. */
    call_args b;
    reset(&b, dtype);
    write_inputs(&b, 0);
    b.options.reduction = SCE_REDUCTION_SUM;
    b.outer = 2;
    b.logits = (unsigned char *)at(OFF_LOGITS) + 4 * dtype_size(dtype);
    b.logits_len = 8;
    b.labels = (unsigned char *)at(OFF_LABELS) + 8;
    b.labels_len = 2;
    b.grad_len = 8;
    status = call_sparse(&b);
    CHECK(status == SCE_OK, "ignore_index 9: call without the row failed: %s",
          sce_last_error());
    double want_loss = get_float(at(OFF_LOSS), dtype, 0);
    double want_grad = get_float(at(OFF_GRAD), dtype, 0);
    double tolerance = dtype == SCE_FLOAT64 ? 1e-15 : 1e-6;
    CHECK(fabs(loss - want_loss) <= tolerance * fabs(want_loss),
          "ignore_index 9: loss %.17g, want %.17g as without the ignored row", loss, want_loss);
    CHECK(grad_row1 == want_grad, "ignore_index 9: grad %.17g, want %.17g", grad_row1,
          want_grad);
}

/* test_empty_with_null: outer 0 with NULL logits and labels is valid; a
 * mean over nothing is NaN and a sum is 0. */
static void test_empty_with_null(int dtype) {
    int reductions[2] = {SCE_REDUCTION_MEAN, SCE_REDUCTION_SUM};
    for (int r = 0; r < 2; r++) {
        call_args a;
        reset(&a, dtype);
        a.outer = 0;
        a.logits = NULL;
        a.logits_len = 0;
        a.labels = NULL;
        a.labels_len = 0;
        a.weight = NULL;
        a.weight_len = 0;
        a.grad = NULL;
        a.grad_len = 0;
        a.options.reduction = reductions[r];
        int status = call_sparse(&a);
        CHECK(status == SCE_OK, "empty batch: call failed: %s", sce_last_error());
        double loss = get_float(at(OFF_LOSS), dtype, 0);
        if (reductions[r] == SCE_REDUCTION_MEAN) {
            CHECK(isnan(loss), "empty batch: mean = %g, want NaN", loss);
        } else {
            CHECK(loss == 0.0, "empty batch: sum = %g, want 0", loss);
        }
    }
}

/* test_status_names checks every status name and the unknown one. */
static void test_status_names(void) {
    const char *names[] = {"SCE_OK",
                           "SCE_ERROR_LABEL_OUT_OF_RANGE",
                           "SCE_ERROR_INVALID_SHAPE",
                           "SCE_ERROR_INVALID_ARGUMENT",
                           "SCE_ERROR_INVALID_DTYPE",
                           "SCE_ERROR_OVERLAP",
                           "SCE_ERROR_FORKED",
                           "SCE_ERROR_INTERNAL"};
    for (int status = 0; status < 8; status++) {
        CHECK(strcmp(sce_status_name(status), names[status]) == 0,
              "sce_status_name(%d) = %s, want %s", status, sce_status_name(status),
              names[status]);
    }
    CHECK(strcmp(sce_status_name(-1), "SCE_ERROR_UNKNOWN") == 0, "sce_status_name(-1)");
    CHECK(strcmp(sce_status_name(8), "SCE_ERROR_UNKNOWN") == 0, "sce_status_name(8)");
}

/* test_thread_count_rejected: counts outside [0, 1024] are rejected and the
 * setting stays as it was. */
static void test_thread_count_rejected(void) {
    int before_count = sce_get_num_threads();
    int bad[3] = {-1, 1025, INT32_MIN};
    for (int i = 0; i < 3; i++) {
        int status = sce_set_num_threads(bad[i]);
        char value[16];
        snprintf(value, sizeof value, "%d", bad[i]);
        CHECK(status == SCE_ERROR_INVALID_ARGUMENT, "sce_set_num_threads(%d) returned %s",
              bad[i], sce_status_name(status));
        CHECK(strstr(sce_last_error(), value) != NULL && strstr(sce_last_error(), "1024"),
              "sce_set_num_threads(%d): message \"%s\" lacks the value or the range", bad[i],
              sce_last_error());
        CHECK(sce_get_num_threads() == before_count,
              "sce_set_num_threads(%d) changed the thread count", bad[i]);
    }
}

/* test_message_survives_success: a successful call keeps the last message. */
static void test_message_survives_success(void) {
    call_args a;
    reset(&a, SCE_FLOAT32);
    write_inputs(&a, 0);
    a.classes = 0;
    CHECK(call_sparse(&a) == SCE_ERROR_INVALID_SHAPE, "classes 0 was accepted");
    reset(&a, SCE_FLOAT32);
    write_inputs(&a, 0);
    CHECK(call_sparse(&a) == SCE_OK, "valid call failed: %s", sce_last_error());
    CHECK(strstr(sce_last_error(), "classes 0") != NULL,
          "a successful call changed the last message to \"%s\"", sce_last_error());
}

int main(void) {
    int dtypes[2] = {SCE_FLOAT32, SCE_FLOAT64};
    for (int d = 0; d < 2; d++) {
        test_baselines(dtypes[d]);
        run_sparse_cases(dtypes[d]);
        run_dense_cases(dtypes[d]);
        run_softmax_cases(dtypes[d]);
        test_in_place(dtypes[d]);
        test_ignore_index_above_classes(dtypes[d]);
        test_empty_with_null(dtypes[d]);
    }
    test_status_names();
    test_thread_count_rejected();
    test_message_survives_success();
    printf("hostile: %zu sparse, %zu dense and %zu softmax cases, float32 and float64\n",
           sizeof SPARSE_CASES / sizeof SPARSE_CASES[0],
           sizeof DENSE_CASES / sizeof DENSE_CASES[0],
           sizeof SOFTMAX_CASES / sizeof SOFTMAX_CASES[0]);
    return check_exit_code("hostile");
}
