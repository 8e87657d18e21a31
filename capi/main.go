// Command capi is the cgo shim that exposes package core through the C
// interface declared in softmaxce.h. Build it with
//
//	go build -buildmode=c-shared -o libsoftmaxce.so ./capi
//
// The exported sceGo* functions are internal: C callers use the sce_*
// functions of shim.c, which check the fork guard before entering Go.
package main

/*
#include <stdint.h>
#include <stdlib.h>
#include "softmaxce.h"

void sceSetError(const char *msg, size_t n);
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/debug"
	"unsafe"

	"github.com/softmaxce/softmaxce/core"
)

func main() {}

// maxLen bounds every length argument: it keeps byte sizes of float64
// buffers inside int64.
const maxLen = 1<<63/8 - 1

// status converts an error from this package or core to a status code and
// records its message as the calling thread's last error.
func status(err error) C.int {
	if err == nil {
		return C.SCE_OK
	}
	msg := err.Error()
	cs := C.CString(msg)
	C.sceSetError(cs, C.size_t(len(msg)))
	C.free(unsafe.Pointer(cs))

	var code C.int = C.SCE_ERROR_INTERNAL
	switch {
	case errors.Is(err, core.ErrLabelOutOfRange):
		code = C.SCE_ERROR_LABEL_OUT_OF_RANGE
	case errors.Is(err, core.ErrInvalidShape):
		code = C.SCE_ERROR_INVALID_SHAPE
	case errors.Is(err, core.ErrInvalidArgument):
		code = C.SCE_ERROR_INVALID_ARGUMENT
	case errors.Is(err, errDtype):
		code = C.SCE_ERROR_INVALID_DTYPE
	case errors.Is(err, core.ErrOverlap):
		code = C.SCE_ERROR_OVERLAP
	}
	return code
}

var errDtype = errors.New("invalid dtype")

// guard turns a panic into SCE_ERROR_INTERNAL, so that no Go panic crosses
// into C. SetPanicOnFault makes a memory fault in Go code a panic too, but an
// invalid non-NULL pointer from C can still abort the runtime when the
// garbage collector or the stack copier meets it: that is undefined behaviour.
func guard(code *C.int) {
	if r := recover(); r != nil {
		*code = status(fmt.Errorf("internal error (please report): %v", r))
	}
}

// buffer describes one pointer and length argument.
type buffer struct {
	name string
	ptr  unsafe.Pointer
	n    C.int64_t
}

func (b buffer) check() error {
	if b.n < 0 || b.n > maxLen {
		return fmt.Errorf("%w: %s_len %d is outside [0, %d]",
			core.ErrInvalidShape, b.name, int64(b.n), int64(maxLen))
	}
	if b.ptr == nil && b.n > 0 {
		return fmt.Errorf("%w: %s is NULL but %s_len is %d",
			core.ErrInvalidArgument, b.name, b.name, int64(b.n))
	}
	return nil
}

func checkBuffers(bufs ...buffer) error {
	for _, b := range bufs {
		if err := b.check(); err != nil {
			return err
		}
	}
	return nil
}

// slice views a checked buffer as a Go slice; nil when it is empty.
func slice[E any](b buffer) []E {
	if b.n == 0 {
		return nil
	}
	return unsafe.Slice((*E)(b.ptr), int(b.n))
}

func shapeOf(outer, classes, inner C.int64_t) core.Shape {
	return core.Shape{Outer: int(outer), Classes: int(classes), Inner: int(inner)}
}

func floatDtypeError(dtype C.int) error {
	return fmt.Errorf("%w: dtype %d is not SCE_FLOAT32 (%d) or SCE_FLOAT64 (%d)",
		errDtype, int(dtype), C.SCE_FLOAT32, C.SCE_FLOAT64)
}

func optionsOf(o *C.sce_options) (core.Options, error) {
	if o == nil {
		return core.Options{}, fmt.Errorf("%w: options is NULL", core.ErrInvalidArgument)
	}
	return core.Options{
		Reduction:      core.Reduction(o.reduction),
		HasIgnoreIndex: o.has_ignore_index != 0,
		IgnoreIndex:    int64(o.ignore_index),
		LabelSmoothing: float64(o.label_smoothing),
		ZLoss:          float64(o.z_loss),
		MeanBy:         core.MeanBy(o.mean_by),
		Flags:          core.Flags(o.flags),
	}, nil
}

//export sceGoSparseCrossEntropy
func sceGoSparseCrossEntropy(dtype, labelDtype C.int, outer, classes, inner C.int64_t,
	logits unsafe.Pointer, logitsLen C.int64_t, labels unsafe.Pointer, labelsLen C.int64_t,
	weight unsafe.Pointer, weightLen C.int64_t, gradOutput unsafe.Pointer,
	gradOutputLen C.int64_t, options unsafe.Pointer, loss unsafe.Pointer, lossLen C.int64_t,
	grad unsafe.Pointer, gradLen C.int64_t) (code C.int) {
	defer guard(&code)
	debug.SetPanicOnFault(true)

	bLogits := buffer{"logits", logits, logitsLen}
	bLabels := buffer{"labels", labels, labelsLen}
	bWeight := buffer{"weight", weight, weightLen}
	bGradOutput := buffer{"grad_output", gradOutput, gradOutputLen}
	bLoss := buffer{"loss", loss, lossLen}
	bGrad := buffer{"grad", grad, gradLen}
	if err := checkBuffers(bLogits, bLabels, bWeight, bGradOutput, bLoss, bGrad); err != nil {
		return status(err)
	}
	opt, err := optionsOf((*C.sce_options)(options))
	if err != nil {
		return status(err)
	}
	shape := shapeOf(outer, classes, inner)

	switch {
	case dtype == C.SCE_FLOAT32 && labelDtype == C.SCE_INT32:
		return status(sparse[float32, int32](bLoss, bGrad, bLogits, bLabels, bWeight,
			bGradOutput, shape, opt))
	case dtype == C.SCE_FLOAT32 && labelDtype == C.SCE_INT64:
		return status(sparse[float32, int64](bLoss, bGrad, bLogits, bLabels, bWeight,
			bGradOutput, shape, opt))
	case dtype == C.SCE_FLOAT64 && labelDtype == C.SCE_INT32:
		return status(sparse[float64, int32](bLoss, bGrad, bLogits, bLabels, bWeight,
			bGradOutput, shape, opt))
	case dtype == C.SCE_FLOAT64 && labelDtype == C.SCE_INT64:
		return status(sparse[float64, int64](bLoss, bGrad, bLogits, bLabels, bWeight,
			bGradOutput, shape, opt))
	case dtype != C.SCE_FLOAT32 && dtype != C.SCE_FLOAT64:
		return status(floatDtypeError(dtype))
	}
	return status(fmt.Errorf("%w: label_dtype %d is not SCE_INT32 (%d) or SCE_INT64 (%d)",
		errDtype, int(labelDtype), C.SCE_INT32, C.SCE_INT64))
}

func sparse[T core.Float, L core.Label](loss, grad, logits, labels, weight,
	gradOutput buffer, shape core.Shape, opt core.Options) error {
	return core.SparseCrossEntropy(slice[T](loss), slice[T](grad), slice[T](logits),
		slice[L](labels), slice[T](weight), slice[T](gradOutput), shape, opt)
}

//export sceGoDenseCrossEntropy
func sceGoDenseCrossEntropy(dtype C.int, outer, classes, inner C.int64_t,
	logits unsafe.Pointer, logitsLen C.int64_t, labels unsafe.Pointer, labelsLen C.int64_t,
	weight unsafe.Pointer, weightLen C.int64_t, gradOutput unsafe.Pointer,
	gradOutputLen C.int64_t, options unsafe.Pointer, loss unsafe.Pointer, lossLen C.int64_t,
	grad unsafe.Pointer, gradLen C.int64_t, gradLabels unsafe.Pointer,
	gradLabelsLen C.int64_t) (code C.int) {
	defer guard(&code)
	debug.SetPanicOnFault(true)

	bufs := []buffer{{"logits", logits, logitsLen}, {"labels", labels, labelsLen},
		{"weight", weight, weightLen}, {"grad_output", gradOutput, gradOutputLen},
		{"loss", loss, lossLen}, {"grad", grad, gradLen},
		{"grad_labels", gradLabels, gradLabelsLen}}
	if err := checkBuffers(bufs...); err != nil {
		return status(err)
	}
	opt, err := optionsOf((*C.sce_options)(options))
	if err != nil {
		return status(err)
	}
	shape := shapeOf(outer, classes, inner)
	switch dtype {
	case C.SCE_FLOAT32:
		return status(dense[float32](bufs, shape, opt))
	case C.SCE_FLOAT64:
		return status(dense[float64](bufs, shape, opt))
	}
	return status(floatDtypeError(dtype))
}

// dense calls core.DenseCrossEntropy with the buffers in the order of
// sceGoDenseCrossEntropy's arguments.
func dense[T core.Float](b []buffer, shape core.Shape, opt core.Options) error {
	return core.DenseCrossEntropy(slice[T](b[4]), slice[T](b[5]), slice[T](b[6]),
		slice[T](b[0]), slice[T](b[1]), slice[T](b[2]), slice[T](b[3]), shape, opt)
}

//export sceGoUnary
func sceGoUnary(op, dtype C.int, outer, classes, inner C.int64_t, x unsafe.Pointer,
	xLen C.int64_t, y unsafe.Pointer, yLen C.int64_t) (code C.int) {
	defer guard(&code)
	debug.SetPanicOnFault(true)

	bx, by := buffer{"x", x, xLen}, buffer{"y", y, yLen}
	if err := checkBuffers(bx, by); err != nil {
		return status(err)
	}
	shape := shapeOf(outer, classes, inner)
	switch dtype {
	case C.SCE_FLOAT32:
		return status(unary[float32](op, by, bx, shape))
	case C.SCE_FLOAT64:
		return status(unary[float64](op, by, bx, shape))
	}
	return status(floatDtypeError(dtype))
}

func unary[T core.Float](op C.int, dst, x buffer, shape core.Shape) error {
	if op == 0 {
		return core.Softmax(slice[T](dst), slice[T](x), shape)
	}
	return core.LogSoftmax(slice[T](dst), slice[T](x), shape)
}

//export sceGoBackward
func sceGoBackward(op, dtype C.int, outer, classes, inner C.int64_t, y unsafe.Pointer,
	yLen C.int64_t, dy unsafe.Pointer, dyLen C.int64_t, dx unsafe.Pointer,
	dxLen C.int64_t) (code C.int) {
	defer guard(&code)
	debug.SetPanicOnFault(true)

	by, bdy, bdx := buffer{"y", y, yLen}, buffer{"dy", dy, dyLen}, buffer{"dx", dx, dxLen}
	if err := checkBuffers(by, bdy, bdx); err != nil {
		return status(err)
	}
	shape := shapeOf(outer, classes, inner)
	switch dtype {
	case C.SCE_FLOAT32:
		return status(backward[float32](op, bdx, by, bdy, shape))
	case C.SCE_FLOAT64:
		return status(backward[float64](op, bdx, by, bdy, shape))
	}
	return status(floatDtypeError(dtype))
}

func backward[T core.Float](op C.int, dx, y, dy buffer, shape core.Shape) error {
	if op == 0 {
		return core.SoftmaxBackward(slice[T](dx), slice[T](y), slice[T](dy), shape)
	}
	return core.LogSoftmaxBackward(slice[T](dx), slice[T](y), slice[T](dy), shape)
}

//export sceGoSetNumThreads
func sceGoSetNumThreads(n C.int) (code C.int) {
	defer guard(&code)
	return status(core.SetNumThreads(int(n)))
}

//export sceGoGetNumThreads
func sceGoGetNumThreads() C.int {
	return C.int(core.NumThreads())
}
