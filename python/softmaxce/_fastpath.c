/*
 * softmaxce._fastpath: the common PyTorch-style sparse call in C.
 *
 * A 32x10 float32 cross_entropy_with_grad call took about 3.6 us through the
 * Python fast path of _sparse.py (argument checks, struct packing and a
 * ctypes call), of which the library's own work was about 1.4 us. This
 * module makes the same checks on the same arguments, packs them on the
 * stack and calls the library through a function pointer, without ctypes.
 *
 * sparse() mirrors _sparse._fast_torch_python exactly: it returns None for
 * any argument that function returns None for, so the Python code takes its
 * general path, which converts, checks and raises. Otherwise it returns the
 * (loss, grad) pair, or the library's status as an int when the call failed,
 * for the Python side to raise with the library's message.
 *
 * The module needs numpy's C API at build time only. setup.py builds it as an
 * optional extension, and the package works without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
/* The oldest numpy the package supports at run time (pyproject.toml):
 * numpy 2 headers otherwise build a module that needs numpy 1.23. */
#define NPY_TARGET_VERSION NPY_1_22_API_VERSION
#include <numpy/arrayobject.h>

#include <stdint.h>
#include <string.h>

#include "softmaxce.h"
#include "softmaxce_private.h"

typedef int (*packed_call)(const void *packed);

/* The library's sce_private_sparse_cross_entropy, set by init(). */
static packed_call call_library;

/* numpy's dtype objects of native float32, float64, int32 and int64. */
static PyArray_Descr *float32_dtype, *float64_dtype, *int32_dtype, *int64_dtype;

/* is_dtype reports whether d is the dtype builtin: the very object, as for
 * most arrays, or an equivalent one, such as a dtype made by unpickling or
 * one with metadata. A byte-swapped dtype is not equivalent. */
static int is_dtype(PyArray_Descr *d, PyArray_Descr *builtin) {
    return d == builtin || PyArray_EquivTypes(d, builtin);
}

/* Problems of at least this many elements release the GIL during the call,
 * so that other Python threads run. Smaller ones, calls of a few
 * microseconds, keep it and save the release and the reacquisition. */
#define RELEASE_GIL_ELEMENTS 16384

/* ranges_overlap reports whether the byte ranges [a, a_end) and [b, b_end)
 * share a byte. */
static int ranges_overlap(uintptr_t a, uintptr_t a_end, uintptr_t b, uintptr_t b_end) {
    return a < b_end && b < a_end;
}

/* plain_double stores a float or int argument as a double in *value and
 * returns 1, or returns 0 for any other type or an int beyond the double
 * range. */
static int plain_double(PyObject *arg, double *value) {
    if (PyFloat_CheckExact(arg)) {
        *value = PyFloat_AS_DOUBLE(arg);
        return 1;
    }
    if (PyLong_CheckExact(arg)) {
        double v = PyLong_AsDouble(arg);
        if (v == -1.0 && PyErr_Occurred()) {
            PyErr_Clear(); /* OverflowError */
            return 0;
        }
        *value = v;
        return 1;
    }
    return 0;
}

/* is_one reports whether arg is a float or int equal to 1. */
static int is_one(PyObject *arg) {
    if (PyFloat_CheckExact(arg)) {
        return PyFloat_AS_DOUBLE(arg) == 1.0;
    }
    if (PyLong_CheckExact(arg)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(arg, &overflow);
        if (v == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        return overflow == 0 && v == 1;
    }
    return 0;
}

/* reduction_code returns the SCE_REDUCTION_* code of a str reduction, or -1
 * for anything else. */
static int reduction_code(PyObject *arg) {
    if (!PyUnicode_CheckExact(arg)) {
        return -1;
    }
    if (PyUnicode_CompareWithASCIIString(arg, "mean") == 0) {
        return SCE_REDUCTION_MEAN;
    }
    if (PyUnicode_CompareWithASCIIString(arg, "sum") == 0) {
        return SCE_REDUCTION_SUM;
    }
    if (PyUnicode_CompareWithASCIIString(arg, "none") == 0) {
        return SCE_REDUCTION_NONE;
    }
    return -1;
}

/* array_start returns the address of an array's first byte. */
static uintptr_t array_start(PyArrayObject *a) { return (uintptr_t)PyArray_DATA(a); }

/* is_output_array reports whether arg is an ndarray of the given dtype
 * (is_dtype) that is aligned, C-contiguous and writable. */
static int is_output_array(PyObject *arg, PyArray_Descr *dtype) {
    if (!PyArray_CheckExact(arg)) {
        return 0;
    }
    PyArrayObject *a = (PyArrayObject *)arg;
    return is_dtype(PyArray_DESCR(a), dtype) && PyArray_ISCARRAY(a);
}

static PyObject *sparse(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 12) {
        PyErr_Format(PyExc_TypeError, "sparse() takes 12 arguments, got %zd", nargs);
        return NULL;
    }
    PyObject *input = args[0], *target = args[1], *weight = args[2];
    PyObject *ignore_index_arg = args[3], *reduction = args[4];
    PyObject *label_smoothing_arg = args[5], *z_loss_arg = args[6];
    PyObject *grad_output = args[7], *out = args[10], *grad_out = args[11];
    int want_loss = PyObject_IsTrue(args[8]);
    int want_grad = PyObject_IsTrue(args[9]);
    if (want_loss < 0 || want_grad < 0) {
        return NULL;
    }

    /* Arguments. */
    if (call_library == NULL || !PyArray_CheckExact(input) || !PyArray_CheckExact(target) ||
        weight != Py_None) {
        Py_RETURN_NONE;
    }
    PyArrayObject *logits = (PyArrayObject *)input, *labels = (PyArrayObject *)target;
    PyArray_Descr *dtype = PyArray_DESCR(logits);
    int64_t code, itemsize;
    if (is_dtype(dtype, float32_dtype)) {
        code = SCE_FLOAT32;
        itemsize = 4;
    } else if (is_dtype(dtype, float64_dtype)) {
        code = SCE_FLOAT64;
        itemsize = 8;
    } else {
        Py_RETURN_NONE;
    }
    int64_t label_code, label_itemsize;
    if (is_dtype(PyArray_DESCR(labels), int64_dtype)) {
        label_code = SCE_INT64;
        label_itemsize = 8;
    } else if (is_dtype(PyArray_DESCR(labels), int32_dtype)) {
        label_code = SCE_INT32;
        label_itemsize = 4;
    } else {
        Py_RETURN_NONE;
    }
    if (PyArray_NDIM(logits) != 2 || PyArray_NDIM(labels) != 1) {
        Py_RETURN_NONE;
    }
    npy_intp *shape = PyArray_DIMS(logits);
    int64_t rows = shape[0], classes = shape[1];
    if (PyArray_DIMS(labels)[0] != rows) {
        Py_RETURN_NONE;
    }
    if (!PyArray_IS_C_CONTIGUOUS(logits) || !PyArray_IS_C_CONTIGUOUS(labels)) {
        Py_RETURN_NONE;
    }
    int reduction_value = reduction_code(reduction);
    if (reduction_value < 0 || !PyLong_CheckExact(ignore_index_arg)) {
        Py_RETURN_NONE;
    }
    int overflow;
    long long ignore_index = PyLong_AsLongLongAndOverflow(ignore_index_arg, &overflow);
    if (ignore_index == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow != 0) {
        Py_RETURN_NONE;
    }
    double label_smoothing, z_loss;
    if (!plain_double(label_smoothing_arg, &label_smoothing) ||
        !plain_double(z_loss_arg, &z_loss)) {
        Py_RETURN_NONE;
    }
    if (want_grad && grad_output != Py_None && !is_one(grad_output)) {
        Py_RETURN_NONE;
    }

    /* Outputs. Each [start, end) byte range given by the caller must be
     * disjoint from those of the inputs and of the other output. Every array
     * here is contiguous, so its range spans its element count times the item
     * size. */
    int64_t size = rows * classes;
    uintptr_t logits_at = array_start(logits);
    uintptr_t logits_end = logits_at + (uintptr_t)(size * itemsize);
    uintptr_t labels_at = array_start(labels);
    uintptr_t labels_end = labels_at + (uintptr_t)(rows * label_itemsize);
    int reduced = reduction_value != SCE_REDUCTION_NONE;
    PyObject *loss = NULL, *grad = NULL; /* new references */
    uintptr_t loss_at = 0, loss_end = 0, grad_at = 0;
    int64_t loss_len = 0, grad_len = 0;
    int type_num = dtype->type_num;

    if (want_loss) {
        if (out == Py_None) {
            npy_intp len = reduced ? 1 : rows;
            loss = PyArray_SimpleNew(1, &len, type_num);
            if (loss == NULL) {
                return NULL;
            }
            loss_len = len;
            loss_at = array_start((PyArrayObject *)loss);
        } else {
            /* `out` with a reduced loss is an error that the general path
             * raises. */
            if (reduced || !is_output_array(out, dtype)) {
                Py_RETURN_NONE;
            }
            PyArrayObject *out_array = (PyArrayObject *)out;
            if (PyArray_NDIM(out_array) != 1 || PyArray_DIMS(out_array)[0] != rows) {
                Py_RETURN_NONE;
            }
            loss_at = array_start(out_array);
            loss_end = loss_at + (uintptr_t)(rows * itemsize);
            if (ranges_overlap(loss_at, loss_end, logits_at, logits_end) ||
                ranges_overlap(loss_at, loss_end, labels_at, labels_end)) {
                Py_RETURN_NONE;
            }
            Py_INCREF(out);
            loss = out;
            loss_len = rows;
        }
    }
    if (want_grad) {
        grad_len = size;
        if (grad_out == Py_None) {
            grad = PyArray_SimpleNew(2, shape, type_num);
            if (grad == NULL) {
                Py_XDECREF(loss);
                return NULL;
            }
            grad_at = array_start((PyArrayObject *)grad);
        } else if (grad_out == input) {
            if (!PyArray_ISWRITEABLE(logits) ||
                ranges_overlap(labels_at, labels_end, logits_at, logits_end)) {
                Py_XDECREF(loss);
                Py_RETURN_NONE;
            }
            grad_at = logits_at;
            Py_INCREF(input);
            grad = input;
        } else {
            if (!is_output_array(grad_out, dtype)) {
                Py_XDECREF(loss);
                Py_RETURN_NONE;
            }
            PyArrayObject *g = (PyArrayObject *)grad_out;
            if (PyArray_NDIM(g) != 2 || PyArray_DIMS(g)[0] != rows ||
                PyArray_DIMS(g)[1] != classes) {
                Py_XDECREF(loss);
                Py_RETURN_NONE;
            }
            grad_at = array_start(g);
            uintptr_t grad_end = grad_at + (uintptr_t)(size * itemsize);
            if (ranges_overlap(grad_at, grad_end, logits_at, logits_end) ||
                ranges_overlap(grad_at, grad_end, labels_at, labels_end) ||
                ranges_overlap(grad_at, grad_end, loss_at, loss_end)) {
                Py_XDECREF(loss);
                Py_RETURN_NONE;
            }
            Py_INCREF(grad_out);
            grad = grad_out;
        }
    }

    /* The call. */
    struct sce_private_sparse_args packed;
    memset(&packed, 0, sizeof packed);
    packed.dtype = code;
    packed.label_dtype = label_code;
    packed.outer = rows;
    packed.classes = classes;
    packed.inner = 1;
    packed.logits = logits_at;
    packed.logits_len = size;
    packed.labels = labels_at;
    packed.labels_len = rows;
    /* weight and grad_output stay NULL: no weights, and upstream ones */
    packed.reduction = reduction_value;
    packed.has_ignore_index = 1;
    packed.ignore_index = ignore_index;
    packed.label_smoothing = label_smoothing;
    packed.z_loss = z_loss;
    packed.mean_by = SCE_MEAN_BY_WEIGHT_SUM;
    packed.loss = loss_at;
    packed.loss_len = loss_len;
    packed.grad = grad_at;
    packed.grad_len = grad_len;

    int status;
    if (size >= RELEASE_GIL_ELEMENTS) {
        Py_BEGIN_ALLOW_THREADS
        status = call_library(&packed);
        Py_END_ALLOW_THREADS
    } else {
        status = call_library(&packed);
    }
    if (status != SCE_OK) {
        Py_XDECREF(loss);
        Py_XDECREF(grad);
        return PyLong_FromLong(status);
    }

    if (reduced && loss != NULL) {
        /* loss[0]: a numpy scalar of the logits' dtype */
        PyObject *scalar = PyArray_Scalar(PyArray_DATA((PyArrayObject *)loss), dtype, loss);
        Py_DECREF(loss);
        if (scalar == NULL) {
            Py_XDECREF(grad);
            return NULL;
        }
        loss = scalar;
    }
    PyObject *result = PyTuple_Pack(2, loss != NULL ? loss : Py_None,
                                    grad != NULL ? grad : Py_None);
    Py_XDECREF(loss);
    Py_XDECREF(grad);
    return result;
}

static PyObject *init(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "init() takes 2 arguments, got %zd", nargs);
        return NULL;
    }
    void *address = PyLong_AsVoidPtr(args[0]);
    if (address == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "init(): the function address is NULL");
        }
        return NULL;
    }
    size_t library_size = PyLong_AsSize_t(args[1]);
    if (library_size == (size_t)-1 && PyErr_Occurred()) {
        return NULL;
    }
    if (library_size != sizeof(struct sce_private_sparse_args)) {
        PyErr_Format(PyExc_ImportError,
                     "softmaxce._fastpath packs %zu bytes of sparse arguments, but the "
                     "library expects %zu: they come from different builds, so rebuild "
                     "with 'pip install .' or 'make lib'",
                     sizeof(struct sce_private_sparse_args), library_size);
        return NULL;
    }
    call_library = (packed_call)address;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"init", (PyCFunction)(void (*)(void))init, METH_FASTCALL,
     "init(address, args_size)\n--\n\n"
     "Set the address of sce_private_sparse_cross_entropy, after checking that\n"
     "the library's packed-argument size, args_size, matches this module's."},
    {"sparse", (PyCFunction)(void (*)(void))sparse, METH_FASTCALL,
     "sparse(input, target, weight, ignore_index, reduction, label_smoothing,\n"
     "       z_loss, grad_output, want_loss, want_grad, out, grad_out)\n--\n\n"
     "Run the common PyTorch-style sparse call: return (loss, grad), the\n"
     "library's status as an int on failure, or None when the arguments are\n"
     "not of the common form."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "softmaxce._fastpath",
    "The common PyTorch-style sparse call of softmaxce in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastpath(void) {
    import_array();
    float32_dtype = PyArray_DescrFromType(NPY_FLOAT32);
    float64_dtype = PyArray_DescrFromType(NPY_FLOAT64);
    int32_dtype = PyArray_DescrFromType(NPY_INT32);
    int64_dtype = PyArray_DescrFromType(NPY_INT64);
    if (float32_dtype == NULL || float64_dtype == NULL || int32_dtype == NULL ||
        int64_dtype == NULL) {
        return NULL;
    }
    return PyModule_Create(&module);
}
