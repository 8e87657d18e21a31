/*
 * threads.c: 16 POSIX threads call softmaxce at once, 10,000 calls in all,
 * on problems of different shapes, dtypes and options. Every result must
 * equal, bit for bit, the result of the same call made with one library
 * thread before the threads started, while another thread keeps changing
 * the library's thread count (sce_set_num_threads). Some calls fail on
 * purpose with a label that names the thread; each thread must read its own
 * message from sce_last_error(), never another thread's.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softmaxce.h"

#define THREADS 16
#define CALLS_PER_THREAD 625 /* 16 * 625 = 10,000 calls */
#define PROBLEMS 24
#define FAILING_EVERY 8 /* every 8th call of a thread is a failing one */

typedef struct {
    int kind; /* 0 sparse cross-entropy, 1 softmax, 2 log-softmax */
    int dtype, label_dtype;
    int64_t outer, classes, inner;
    sce_options options;
    void *logits, *labels, *weight;
    int64_t elements, positions, loss_len, weight_len;
    void *want_loss, *want_grad; /* results of the call made with one library thread */
} problem;

static problem problems[PROBLEMS];

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* uniform returns a value in [-scale, scale). */
static double uniform(double scale) {
    return ((double)(next_random() >> 11) / 9007199254740992.0 * 2 - 1) * scale;
}

static size_t size_of(int dtype) { return dtype == SCE_FLOAT64 ? 8 : 4; }

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        fprintf(stderr, "threads: out of memory\n");
        exit(2);
    }
    return p;
}

/* call runs problem p into loss and grad (or y for the softmax kinds). */
static int call(const problem *p, void *loss, void *grad) {
    if (p->kind == 1) {
        return sce_softmax(p->dtype, p->outer, p->classes, p->inner, p->logits, p->elements,
                           grad, p->elements);
    }
    if (p->kind == 2) {
        return sce_log_softmax(p->dtype, p->outer, p->classes, p->inner, p->logits,
                               p->elements, grad, p->elements);
    }
    return sce_sparse_cross_entropy(p->dtype, p->label_dtype, p->outer, p->classes, p->inner,
                                    p->logits, p->elements, p->labels, p->positions,
                                    p->weight, p->weight_len, NULL, 0, &p->options, loss,
                                    p->loss_len, grad, p->elements);
}

static void make_problem(problem *p, int index) {
    memset(p, 0, sizeof *p);
    p->kind = index % 6 == 4 ? 1 : index % 6 == 5 ? 2 : 0;
    p->dtype = index % 2 ? SCE_FLOAT64 : SCE_FLOAT32;
    p->label_dtype = (index / 2) % 2 ? SCE_INT64 : SCE_INT32;
    p->outer = 1 + (int64_t)(next_random() % 40);
    p->classes = 1 + (int64_t)(next_random() % 200);
    if (index % 8 == 7) {
        /* More than one block of 65536 elements: the call uses the pool. */
        p->outer = 200 + (int64_t)(next_random() % 200);
        p->classes = 300 + (int64_t)(next_random() % 200);
    }
    p->inner = 1 + (int64_t)(index % 3);
    p->positions = p->outer * p->inner;
    p->elements = p->positions * p->classes;
    p->options.reduction = index % 3;
    p->options.has_ignore_index = index % 4 == 1;
    p->options.ignore_index = p->classes + 3; /* >= classes: still an ignore value */
    p->options.label_smoothing = index % 5 == 2 ? 0.125 : 0.0;
    p->options.z_loss = index % 7 == 3 ? 1e-4 : 0.0;
    p->loss_len = p->options.reduction == SCE_REDUCTION_NONE ? p->positions : 1;

    size_t fs = size_of(p->dtype);
    p->logits = xcalloc((size_t)p->elements, fs);
    for (int64_t i = 0; i < p->elements; i++) {
        double v = uniform(8.0);
        if (p->dtype == SCE_FLOAT64) {
            ((double *)p->logits)[i] = v;
        } else {
            ((float *)p->logits)[i] = (float)v;
        }
    }
    p->labels = xcalloc((size_t)p->positions, 8);
    for (int64_t i = 0; i < p->positions; i++) {
        int64_t y = (int64_t)(next_random() % (uint64_t)p->classes);
        if (p->options.has_ignore_index && i % 5 == 0) {
            y = p->options.ignore_index;
        }
        if (p->label_dtype == SCE_INT64) {
            ((int64_t *)p->labels)[i] = y;
        } else {
            ((int32_t *)p->labels)[i] = (int32_t)y;
        }
    }
    if (index % 4 == 2) {
        p->weight_len = p->classes;
        p->weight = xcalloc((size_t)p->classes, fs);
        for (int64_t c = 0; c < p->classes; c++) {
            double w = 0.25 + (double)(c % 7) / 4;
            if (p->dtype == SCE_FLOAT64) {
                ((double *)p->weight)[c] = w;
            } else {
                ((float *)p->weight)[c] = (float)w;
            }
        }
    }
    p->want_loss = xcalloc((size_t)p->loss_len, fs);
    p->want_grad = xcalloc((size_t)p->elements, fs);
    int status = call(p, p->want_loss, p->want_grad);
    if (status != SCE_OK) {
        fprintf(stderr, "threads: reference call of problem %d failed: %s\n", index,
                sce_last_error());
        exit(2);
    }
}

typedef struct {
    int id;
    int calls, failures;
    pthread_barrier_t *start;
} worker;

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void report(worker *w, const char *fmt, const char *detail, int index) {
    w->failures++;
    if (w->failures > 3) {
        return;
    }
    pthread_mutex_lock(&report_lock);
    fprintf(stderr, "threads: thread %d, problem %d: ", w->id, index);
    fprintf(stderr, fmt, detail);
    fputc('\n', stderr);
    pthread_mutex_unlock(&report_lock);
}

/* fail_on_purpose makes a call with an out-of-range label unique to this
 * thread and call, and checks that this thread's message names it. */
static void fail_on_purpose(worker *w, int k) {
    int64_t label = 1000000 + (int64_t)w->id * 10000 + k;
    float logits[3] = {0.5f, 1.5f, -1.0f};
    float loss;
    sce_options options = {0};
    int status = sce_sparse_cross_entropy(SCE_FLOAT32, SCE_INT64, 1, 3, 1, logits, 3, &label,
                                          1, NULL, 0, NULL, 0, &options, &loss, 1, NULL, 0);
    char want[32];
    snprintf(want, sizeof want, "%" PRId64, label);
    if (status != SCE_ERROR_LABEL_OUT_OF_RANGE) {
        report(w, "failing call returned %s", sce_status_name(status), -1);
    } else if (strstr(sce_last_error(), want) == NULL) {
        report(w, "message names another call: %s", sce_last_error(), -1);
    }
}

static void *run_worker(void *arg) {
    worker *w = arg;
    size_t max_elements = 0;
    for (int i = 0; i < PROBLEMS; i++) {
        size_t n = (size_t)problems[i].elements;
        max_elements = n > max_elements ? n : max_elements;
    }
    void *loss = xcalloc(max_elements, 8);
    void *grad = xcalloc(max_elements, 8);
    pthread_barrier_wait(w->start);

    for (int k = 0; k < CALLS_PER_THREAD; k++) {
        w->calls++;
        if (k % FAILING_EVERY == FAILING_EVERY - 1) {
            fail_on_purpose(w, k);
            continue;
        }
        int index = (w->id * 7 + k) % PROBLEMS;
        const problem *p = &problems[index];
        size_t fs = size_of(p->dtype);
        memset(loss, 0xa5, max_elements * 8);
        memset(grad, 0xa5, max_elements * 8);
        int status = call(p, loss, grad);
        if (status != SCE_OK) {
            report(w, "call failed: %s", sce_last_error(), index);
            continue;
        }
        if (p->kind == 0 && memcmp(loss, p->want_loss, (size_t)p->loss_len * fs) != 0) {
            report(w, "loss differs from the one-thread call%s", "", index);
        }
        if (memcmp(grad, p->want_grad, (size_t)p->elements * fs) != 0) {
            report(w, "gradient or output differs from the one-thread call%s", "", index);
        }
    }
    free(loss);
    free(grad);
    return NULL;
}

static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static int stop_toggling;

static int toggling_stopped(void) {
    pthread_mutex_lock(&stop_lock);
    int stopped = stop_toggling;
    pthread_mutex_unlock(&stop_lock);
    return stopped;
}

/* toggle_thread_count sets thread counts in turn until stop_toggling is set. */
static void *toggle_thread_count(void *arg) {
    static const int counts[] = {1, 2, 3, 8, 0};
    (void)arg;
    for (unsigned k = 0; !toggling_stopped(); k++) {
        if (sce_set_num_threads(counts[k % 5]) != SCE_OK) {
            fprintf(stderr, "threads: sce_set_num_threads(%d) failed: %s\n", counts[k % 5],
                    sce_last_error());
            exit(1);
        }
        sched_yield();
    }
    return NULL;
}

int main(void) {
    int default_threads = sce_get_num_threads();
    if (sce_set_num_threads(1) != SCE_OK) {
        fprintf(stderr, "threads: sce_set_num_threads(1) failed: %s\n", sce_last_error());
        return 2;
    }
    for (int i = 0; i < PROBLEMS; i++) {
        make_problem(&problems[i], i);
    }
    sce_set_num_threads(0);

    pthread_t toggler;
    if (pthread_create(&toggler, NULL, toggle_thread_count, NULL) != 0) {
        fprintf(stderr, "threads: pthread_create failed\n");
        return 2;
    }
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){.id = i, .start = &start};
        if (pthread_create(&threads[i], NULL, run_worker, &workers[i]) != 0) {
            fprintf(stderr, "threads: pthread_create failed\n");
            return 2;
        }
    }
    int calls = 0, failures = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        calls += workers[i].calls;
        failures += workers[i].failures;
    }
    pthread_barrier_destroy(&start);
    pthread_mutex_lock(&stop_lock);
    stop_toggling = 1;
    pthread_mutex_unlock(&stop_lock);
    pthread_join(toggler, NULL);
    sce_set_num_threads(0);
    if (sce_get_num_threads() != default_threads) {
        fprintf(stderr, "threads: sce_set_num_threads(0) left %d threads, want the default %d\n",
                sce_get_num_threads(), default_threads);
        failures++;
    }
    for (int i = 0; i < PROBLEMS; i++) {
        free(problems[i].logits);
        free(problems[i].labels);
        free(problems[i].weight);
        free(problems[i].want_loss);
        free(problems[i].want_grad);
    }
    if (failures > 0) {
        fprintf(stderr, "threads: %d of %d calls failed a check\n", failures, calls);
        return 1;
    }
    printf("threads: %d calls from %d threads, all equal to the one-thread results\n",
           calls, THREADS);
    return 0;
}
