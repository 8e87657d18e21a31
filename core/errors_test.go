package core_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/softmaxce/softmaxce/core"
)

// sparseArgs are the arguments of one SparseCrossEntropy call.
type sparseArgs[T core.Float, L core.Label] struct {
	loss, grad, logits []T
	labels             []L
	weight, gradOutput []T
	shape              core.Shape
	opt                core.Options
}

// validSparseArgs returns a valid call on 4 positions of 3 classes with every
// buffer present, and outputs filled with the sentinel.
func validSparseArgs[T core.Float, L core.Label]() *sparseArgs[T, L] {
	s := core.Shape{Outer: 4, Classes: 3, Inner: 1}
	return &sparseArgs[T, L]{
		loss:       filled(4, sentinel[T]()),
		grad:       filled(12, sentinel[T]()),
		logits:     []T{1, 2, 3, -1, 0, 1, 0.5, 0.5, 0.5, 4, -2, 0},
		labels:     []L{0, 2, 1, 2},
		weight:     []T{1, 0.5, 2},
		gradOutput: []T{1, 1, 0.5, 2},
		shape:      s,
		opt:        core.Options{Reduction: core.ReductionNone},
	}
}

func (a *sparseArgs[T, L]) call() error {
	return core.SparseCrossEntropy(a.loss, a.grad, a.logits, a.labels, a.weight, a.gradOutput,
		a.shape, a.opt)
}

// reduceTo switches the call to a reduction with one loss value and a
// scalar grad_output.
func (a *sparseArgs[T, L]) reduceTo(r core.Reduction) {
	a.opt.Reduction = r
	a.loss = filled(1, sentinel[T]())
	a.gradOutput = []T{1}
}

// sparseErrorCase is a call that must fail with want, with a message that
// contains every string of contains.
type sparseErrorCase[T core.Float, L core.Label] struct {
	name     string
	modify   func(a *sparseArgs[T, L])
	want     error
	contains []string
}

// commonSparseErrorCases apply to every element and label type.
func commonSparseErrorCases[T core.Float, L core.Label]() []sparseErrorCase[T, L] {
	type c = sparseErrorCase[T, L]
	nan, inf := T(math.NaN()), T(math.Inf(1))
	shape := func(outer, classes, inner int) func(a *sparseArgs[T, L]) {
		return func(a *sparseArgs[T, L]) {
			a.shape = core.Shape{Outer: outer, Classes: classes, Inner: inner}
		}
	}
	return []c{
		// shapes
		{"classes 0", func(a *sparseArgs[T, L]) {
			a.shape.Classes, a.logits, a.grad, a.weight = 0, nil, nil, nil
		}, core.ErrInvalidShape, []string{"classes 0"}},
		{"classes negative", shape(4, -3, 1), core.ErrInvalidShape, []string{"classes -3"}},
		{"outer negative", shape(-1, 3, 1), core.ErrInvalidShape, []string{"outer -1"}},
		{"inner negative", shape(4, 3, -2), core.ErrInvalidShape, []string{"inner -2"}},
		{"positions overflow", shape(1<<40, 3, 1<<40), core.ErrInvalidShape,
			[]string{"overflows"}},
		{"elements overflow", shape(1<<30, 1<<30, 1<<10), core.ErrInvalidShape,
			[]string{"overflows"}},

		// buffer lengths
		{"logits short", func(a *sparseArgs[T, L]) { a.logits = a.logits[:11] },
			core.ErrInvalidShape, []string{"logits", "11"}},
		{"logits long", func(a *sparseArgs[T, L]) { a.logits = append(a.logits, 0) },
			core.ErrInvalidShape, []string{"logits", "13"}},
		{"labels short", func(a *sparseArgs[T, L]) { a.labels = a.labels[:3] },
			core.ErrInvalidShape, []string{"labels", "3"}},
		{"labels long", func(a *sparseArgs[T, L]) { a.labels = append(a.labels, 0) },
			core.ErrInvalidShape, []string{"labels", "5"}},
		{"loss short for none", func(a *sparseArgs[T, L]) { a.loss = a.loss[:3] },
			core.ErrInvalidShape, []string{"loss", "3"}},
		{"loss of 4 for sum", func(a *sparseArgs[T, L]) {
			a.reduceTo(core.ReductionSum)
			a.loss = filled(4, sentinel[T]())
		}, core.ErrInvalidShape, []string{"loss", "4"}},
		{"loss of 4 for mean", func(a *sparseArgs[T, L]) {
			a.reduceTo(core.ReductionMean)
			a.loss = filled(4, sentinel[T]())
		}, core.ErrInvalidShape, []string{"loss", "4"}},
		{"grad short", func(a *sparseArgs[T, L]) { a.grad = a.grad[:11] },
			core.ErrInvalidShape, []string{"grad", "11"}},
		{"grad long", func(a *sparseArgs[T, L]) { a.grad = filled(13, sentinel[T]()) },
			core.ErrInvalidShape, []string{"grad", "13"}},
		{"grad_output short for none", func(a *sparseArgs[T, L]) {
			a.gradOutput = a.gradOutput[:3]
		}, core.ErrInvalidShape, []string{"grad_output", "3"}},
		{"grad_output scalar for none", func(a *sparseArgs[T, L]) {
			a.gradOutput = []T{1}
		}, core.ErrInvalidShape, []string{"grad_output", "1"}},
		{"grad_output per position for sum", func(a *sparseArgs[T, L]) {
			a.reduceTo(core.ReductionSum)
			a.gradOutput = []T{1, 1, 1, 1}
		}, core.ErrInvalidShape, []string{"grad_output", "4"}},
		{"grad_output per position for mean", func(a *sparseArgs[T, L]) {
			a.reduceTo(core.ReductionMean)
			a.gradOutput = []T{1, 1, 1, 1}
		}, core.ErrInvalidShape, []string{"grad_output", "4"}},
		{"weight short", func(a *sparseArgs[T, L]) { a.weight = a.weight[:2] },
			core.ErrInvalidShape, []string{"weight", "2"}},
		{"weight long", func(a *sparseArgs[T, L]) { a.weight = []T{1, 1, 1, 1} },
			core.ErrInvalidShape, []string{"weight", "4"}},

		// weights
		{"weight NaN", func(a *sparseArgs[T, L]) { a.weight[1] = nan },
			core.ErrInvalidArgument, []string{"weight[1]", "NaN"}},
		{"weight +Inf", func(a *sparseArgs[T, L]) { a.weight[2] = inf },
			core.ErrInvalidArgument, []string{"weight[2]", "+Inf"}},
		{"weight -Inf", func(a *sparseArgs[T, L]) { a.weight[0] = -inf },
			core.ErrInvalidArgument, []string{"weight[0]", "-Inf"}},
		{"weight negative", func(a *sparseArgs[T, L]) { a.weight[2] = -0.5 },
			core.ErrInvalidArgument, []string{"weight[2]", "-0.5"}},

		// options
		{"label_smoothing NaN", func(a *sparseArgs[T, L]) { a.opt.LabelSmoothing = math.NaN() },
			core.ErrInvalidArgument, []string{"label_smoothing", "NaN"}},
		{"label_smoothing negative", func(a *sparseArgs[T, L]) { a.opt.LabelSmoothing = -0.1 },
			core.ErrInvalidArgument, []string{"label_smoothing", "-0.1"}},
		{"label_smoothing above 1", func(a *sparseArgs[T, L]) { a.opt.LabelSmoothing = 1.1 },
			core.ErrInvalidArgument, []string{"label_smoothing", "1.1"}},
		{"z_loss negative", func(a *sparseArgs[T, L]) { a.opt.ZLoss = -1 },
			core.ErrInvalidArgument, []string{"z_loss", "-1"}},
		{"z_loss NaN", func(a *sparseArgs[T, L]) { a.opt.ZLoss = math.NaN() },
			core.ErrInvalidArgument, []string{"z_loss", "NaN"}},
		{"z_loss +Inf", func(a *sparseArgs[T, L]) { a.opt.ZLoss = math.Inf(1) },
			core.ErrInvalidArgument, []string{"z_loss", "+Inf"}},
		{"reduction 3", func(a *sparseArgs[T, L]) { a.opt.Reduction = 3 },
			core.ErrInvalidArgument, []string{"reduction", "3"}},
		{"reduction -1", func(a *sparseArgs[T, L]) { a.opt.Reduction = -1 },
			core.ErrInvalidArgument, []string{"reduction", "-1"}},
		{"mean_by 4", func(a *sparseArgs[T, L]) {
			a.reduceTo(core.ReductionMean)
			a.opt.MeanBy = 4
		}, core.ErrInvalidArgument, []string{"mean_by", "4"}},
		{"mean_by -1", func(a *sparseArgs[T, L]) {
			a.reduceTo(core.ReductionMean)
			a.opt.MeanBy = -1
		}, core.ErrInvalidArgument, []string{"mean_by", "-1"}},
		{"flags on integer labels", func(a *sparseArgs[T, L]) { a.opt.Flags = 1 },
			core.ErrInvalidArgument, []string{"flags", "1"}},

		// labels
		{"label equal to classes", func(a *sparseArgs[T, L]) { a.labels[2] = 3 },
			core.ErrLabelOutOfRange, []string{"label value 3", "position 2", "[0, 3)"}},
		{"label -1", func(a *sparseArgs[T, L]) { a.labels[1] = -1 },
			core.ErrLabelOutOfRange, []string{"label value -1", "position 1"}},
		{"label -100 without ignore index", func(a *sparseArgs[T, L]) { a.labels[0] = -100 },
			core.ErrLabelOutOfRange, []string{"label value -100", "position 0"}},
		{"label other than the ignore index", func(a *sparseArgs[T, L]) {
			a.opt.HasIgnoreIndex, a.opt.IgnoreIndex = true, -1
			a.labels[3] = -100
		}, core.ErrLabelOutOfRange, []string{"label value -100", "position 3", "ignore index -1"}},
		{"label out of range in a mean", func(a *sparseArgs[T, L]) {
			a.reduceTo(core.ReductionMean)
			a.labels[3] = 7
		}, core.ErrLabelOutOfRange, []string{"label value 7", "position 3"}},
	}
}

func TestSparseErrors(t *testing.T) {
	t.Run("f32/int32", func(t *testing.T) {
		cases := append(commonSparseErrorCases[float32, int32](),
			sparseErrorCase[float32, int32]{"label min int32", func(a *sparseArgs[float32, int32]) {
				a.labels[1] = math.MinInt32
			}, core.ErrLabelOutOfRange, []string{"label value -2147483648"}})
		testSparseErrors(t, cases)
	})
	t.Run("f64/int64", func(t *testing.T) {
		cases := append(commonSparseErrorCases[float64, int64](),
			// 2^32 + 1 would be 1 if the label were truncated to 32 bits.
			sparseErrorCase[float64, int64]{"label 2^32+1", func(a *sparseArgs[float64, int64]) {
				a.labels[2] = 1<<32 + 1
			}, core.ErrLabelOutOfRange, []string{"label value 4294967297"}},
			sparseErrorCase[float64, int64]{"label min int64", func(a *sparseArgs[float64, int64]) {
				a.labels[0] = math.MinInt64
			}, core.ErrLabelOutOfRange, []string{"label value -9223372036854775808"}})
		testSparseErrors(t, cases)
	})
	t.Run("f32/int64", func(t *testing.T) {
		testSparseErrors(t, commonSparseErrorCases[float32, int64]())
	})
	t.Run("f64/int32", func(t *testing.T) {
		testSparseErrors(t, commonSparseErrorCases[float64, int32]())
	})
}

// testSparseErrors runs each case, with every call of the package that takes
// the same arguments, and checks the sentinel, the message and that no output
// was written and no input changed.
func testSparseErrors[T core.Float, L core.Label](t *testing.T, cases []sparseErrorCase[T, L]) {
	calls := []struct {
		name string
		run  func(a *sparseArgs[T, L]) error
	}{
		{"SparseCrossEntropy", (*sparseArgs[T, L]).call},
		{"SparseForward", func(a *sparseArgs[T, L]) error {
			return core.SparseForward(a.loss, a.logits, a.labels, a.weight, a.shape, a.opt)
		}},
		{"SparseBackward", func(a *sparseArgs[T, L]) error {
			return core.SparseBackward(a.grad, a.logits, a.labels, a.weight, a.gradOutput,
				a.shape, a.opt)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The valid call succeeds, so the modification alone causes the error.
			require.NoError(t, validSparseArgs[T, L]().call(), "the unmodified call")

			for _, c := range calls {
				a := validSparseArgs[T, L]()
				tc.modify(a)
				if !takesBuffer(c.name, strings.Fields(tc.name)[0]) {
					continue
				}
				logits := append([]T(nil), a.logits...)
				labels := append([]L(nil), a.labels...)
				weight := append([]T(nil), a.weight...)
				gradOutput := append([]T(nil), a.gradOutput...)
				call := fmt.Sprintf("%s(%s %s, case %q)", c.name, typeName[T, L](),
					shapeString(a.shape), tc.name)

				err := c.run(a)
				require.Errorf(t, err, "%s returned no error", call)
				assert.ErrorIsf(t, err, tc.want, "%s error = %v", call, err)
				for _, s := range tc.contains {
					assert.Containsf(t, err.Error(), s, "%s error message", call)
				}
				for _, sentinel := range []error{core.ErrLabelOutOfRange, core.ErrInvalidShape,
					core.ErrInvalidArgument, core.ErrOverlap} {
					if sentinel != tc.want {
						assert.NotErrorIsf(t, err, sentinel, "%s error = %v", call, err)
					}
				}
				assertSameBits(t, call, "loss", a.loss, filled(len(a.loss), sentinel[T]()))
				assertSameBits(t, call, "grad", a.grad, filled(len(a.grad), sentinel[T]()))
				assertSameBits(t, call, "logits", a.logits, logits)
				assertSameBits(t, call, "weight", a.weight, weight)
				assertSameBits(t, call, "grad_output", a.gradOutput, gradOutput)
				assert.Equalf(t, labels, a.labels, "%s changed the labels", call)
			}
		})
	}
}

// takesBuffer reports whether the function named call takes the buffer
// named by the first word of an error case's name. SparseForward has no grad
// or grad_output, SparseBackward no loss.
func takesBuffer(call, buffer string) bool {
	switch buffer {
	case "grad", "grad_output":
		return call != "SparseForward"
	case "loss":
		return call != "SparseBackward"
	}
	return true
}

func TestSparseLabelErrorFields(t *testing.T) {
	// A strided layout: position = outer*Inner + inner. Two labels are out of
	// range; the first in position order is reported.
	s := core.Shape{Outer: 2, Classes: 3, Inner: 4}
	labels := []int64{0, 1, 2, 0, 1, 2, 5, -7}
	logits := make([]float32, 24)
	grad := filled(24, sentinel[float32]())
	opt := core.Options{Reduction: core.ReductionSum, HasIgnoreIndex: true, IgnoreIndex: -100}

	err := core.SparseCrossEntropy(nil, grad, logits, labels, nil, nil, s, opt)
	var labelErr *core.LabelError
	require.ErrorAsf(t, err, &labelErr, "SparseCrossEntropy(label 5 at position 6) error = %v",
		err)
	assert.Equal(t, int64(6), labelErr.Position, "LabelError.Position")
	assert.Equal(t, int64(5), labelErr.Label, "LabelError.Label")
	assert.Equal(t, 3, labelErr.Classes, "LabelError.Classes")
	require.NotNil(t, labelErr.Ignore, "LabelError.Ignore with an ignore index set")
	assert.Equal(t, int64(-100), *labelErr.Ignore, "*LabelError.Ignore")
	assert.ErrorIs(t, err, core.ErrLabelOutOfRange)
	assert.Contains(t, err.Error(), "label value 5 at position 6")
	assertSameBits(t, "SparseCrossEntropy(label 5 at position 6)", "grad", grad,
		filled(24, sentinel[float32]()))

	// Without an ignore index the error has no Ignore and the message does
	// not mention one.
	opt.HasIgnoreIndex = false
	labels[6] = 1
	err = core.SparseCrossEntropy(nil, grad, logits, labels, nil, nil, s, opt)
	require.ErrorAs(t, err, &labelErr)
	assert.Equal(t, int64(7), labelErr.Position, "LabelError.Position")
	assert.Equal(t, int64(-7), labelErr.Label, "LabelError.Label")
	assert.Nil(t, labelErr.Ignore, "LabelError.Ignore without an ignore index")
	assert.NotContains(t, err.Error(), "ignore")
}

// floatView returns the memory of s as a []float64 of n elements; s must
// span at least 8n bytes.
func floatView[E any](s []E, n int) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(s))), n)
}

func TestSparseOverlap(t *testing.T) {
	s := core.Shape{Outer: 4, Classes: 3, Inner: 1}
	type buffers struct {
		memory             []float64 // backing store of every float buffer
		labelMemory        []int64   // backing store of labels, room for a 12-element view
		labels             []int64
		loss, grad, logits []float64
		weight, gradOutput []float64
		opt                core.Options
	}
	// layout places logits at [0, 12), grad at [12, 24), weight at [24, 27),
	// grad_output at [27, 31) and loss at [31, 35) of one buffer. Each case
	// then moves one of them.
	layout := func() *buffers {
		r := newRand(17)
		b := &buffers{memory: randomValues(r, 40), labelMemory: make([]int64, 12)}
		b.labels = b.labelMemory[:4]
		copy(b.labels, []int64{0, 2, 1, 2})
		for i := 24; i < 27; i++ {
			b.memory[i] = math.Abs(b.memory[i])
		}
		b.logits, b.grad = b.memory[0:12], b.memory[12:24]
		b.weight, b.gradOutput, b.loss = b.memory[24:27], b.memory[27:31], b.memory[31:35]
		return b
	}
	cases := []struct {
		name     string
		modify   func(b *buffers)
		contains []string
	}{
		{"grad shifted by one element over logits", func(b *buffers) { b.grad = b.memory[1:13] },
			[]string{"grad", "logits", "partially"}},
		{"grad ending inside logits", func(b *buffers) {
			b.logits, b.grad = b.memory[6:18], b.memory[0:12]
		}, []string{"grad", "logits"}},
		{"grad over weight", func(b *buffers) { b.grad = b.memory[15:27] },
			[]string{"grad", "weight"}},
		{"grad over grad_output", func(b *buffers) {
			b.gradOutput = b.memory[14:18]
		}, []string{"grad", "grad_output"}},
		{"grad over labels", func(b *buffers) { b.grad = floatView(b.labelMemory, 12) },
			[]string{"grad", "labels"}},
		{"loss inside logits", func(b *buffers) { b.loss = b.memory[4:8] },
			[]string{"loss", "logits"}},
		{"loss exactly grad_output", func(b *buffers) { b.loss = b.gradOutput },
			[]string{"loss", "grad_output"}},
		{"loss over weight", func(b *buffers) { b.loss = b.memory[26:30] },
			[]string{"loss"}},
		{"loss over labels", func(b *buffers) { b.loss = floatView(b.labels, 4) },
			[]string{"loss", "labels"}},
		{"loss over grad", func(b *buffers) { b.loss = b.memory[20:24] },
			[]string{"loss", "grad"}},
		{"loss of a sum in logits", func(b *buffers) {
			b.opt.Reduction = core.ReductionSum
			b.loss, b.gradOutput = b.memory[11:12], b.memory[30:31]
		}, []string{"loss", "logits"}},
		{"loss of a sum in the in-place grad", func(b *buffers) {
			b.opt.Reduction = core.ReductionSum
			b.grad = b.logits
			b.loss, b.gradOutput = b.memory[0:1], b.memory[30:31]
		}, []string{"loss"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := layout()
			tc.modify(b)
			memory := append([]float64(nil), b.memory...)
			labels := append([]int64(nil), b.labels...)
			call := fmt.Sprintf("SparseCrossEntropy(%s)", tc.name)

			err := core.SparseCrossEntropy(b.loss, b.grad, b.logits, b.labels, b.weight,
				b.gradOutput, s, b.opt)
			require.Errorf(t, err, "%s returned no error", call)
			assert.ErrorIsf(t, err, core.ErrOverlap, "%s error = %v", call, err)
			for _, want := range tc.contains {
				assert.Containsf(t, err.Error(), want, "%s error message", call)
			}
			assertSameBits(t, call, "memory", b.memory, memory)
			assert.Equalf(t, labels, b.labels, "%s changed the labels", call)
		})
	}

	// Exactly in place and fully disjoint buffers are accepted.
	b := layout()
	require.NoError(t, core.SparseCrossEntropy(b.loss, b.grad, b.logits, b.labels, b.weight,
		b.gradOutput, s, b.opt), "SparseCrossEntropy(disjoint buffers)")
	b = layout()
	require.NoError(t, core.SparseCrossEntropy(b.loss, b.logits, b.logits, b.labels, b.weight,
		b.gradOutput, s, b.opt), "SparseCrossEntropy(grad is logits)")
}

func TestErrorSentinelsDistinct(t *testing.T) {
	sentinels := []error{core.ErrLabelOutOfRange, core.ErrInvalidShape, core.ErrInvalidArgument,
		core.ErrOverlap}
	for i, a := range sentinels {
		for j, b := range sentinels {
			if i != j {
				assert.Falsef(t, errors.Is(a, b), "errors.Is(%v, %v)", a, b)
			}
		}
	}
}
