package core_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/softmaxce/softmaxce/core"
)

// forEachKernel runs f once with each row kernel this CPU supports, as
// subtests named after the kernel. The kernel is a package-wide setting. so
// f must not call t.Parallel.
func forEachKernel(t *testing.T, f func(t *testing.T)) {
	for _, name := range core.KernelNames() {
		t.Run(name, func(t *testing.T) {
			defer core.UseKernel(name)()
			f(t)
		})
	}
}

// assertSameBitsOrNaN is assertSameBits except that any NaN matches any NaN:
// kernels may return different NaN payloads.
func assertSameBitsOrNaN[T core.Float](t *testing.T, call, buffer string, got, want []T) bool {
	t.Helper()
	if !assert.Lenf(t, got, len(want), "%s %s length", call, buffer) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if bits(g) != bits(w) && !(math.IsNaN(float64(g)) && math.IsNaN(float64(w))) {
			return assert.Failf(t, "kernels differ",
				"%s %s[%d] = %v (%#x), want %v (%#x) from the pure-Go kernel", call, buffer, i,
				g, bits(g), w, bits(w))
		}
	}
	return true
}

// kernelLogits returns logits of shape s for the kernel comparison: normal
// rows, wide rows whose exponentials underflow, and rows holding -Inf, +Inf,
// NaN, -0, huge values and subnormals at positions that fall into vector
// bodies and tails.
func kernelLogits[T core.Float](s core.Shape, seed uint64) []T {
	r := newRand(seed)
	x := randomLogits[T](r, s)
	wide := randomLogitsSpread[T](r, s, 40)
	var zero T
	huge := 3e38
	if _, ok := any(zero).(float64); ok {
		huge = 1.7e308
	}
	specials := []float64{math.Inf(-1), math.Inf(1), math.NaN(), math.Copysign(0, -1), huge,
		-huge, 1e-40, minNormal[T]()}
	positions := s.Outer * s.Inner
	for p := 0; p < positions; p++ {
		o, i := p/s.Inner, p%s.Inner
		switch p % 4 {
		case 1:
			for c := 0; c < s.Classes; c++ {
				x[refIndex(s, o, c, i)] = wide[refIndex(s, o, c, i)]
			}
		case 2:
			c := r.IntN(s.Classes)
			x[refIndex(s, o, c, i)] = T(specials[r.IntN(len(specials))])
		case 3:
			for c := 0; c < s.Classes; c += 1 + r.IntN(3) {
				x[refIndex(s, o, c, i)] = T(math.Inf(-1))
			}
		}
	}
	return x
}

func TestKernelsAgreeBitwise(t *testing.T) {
	// One thread takes all blocks in order, so a streamed gradient row is
	// written during the next row's exp pass also when rows are long
	// enough to be a block each.
	withThreads(t, 1, func() {
		t.Run("f32/int32", testKernelsAgree[float32, int32])
		t.Run("f64/int64", testKernelsAgree[float64, int64])
	})
}

// testKernelsAgree checks that every kernel returns the bits of the pure-Go
// kernel run row by row, for every function of the package, on class
// counts from 1 to past twice the number of partial sums, a large
// vocabulary and strided layouts. Each kernel runs with and without a
// streamed gradient, and with the short-row path where the shape allows.
func testKernelsAgree[T core.Float, L core.Label](t *testing.T) {
	maxClasses := 2*max(core.Partials32, core.Partials64) + 3
	var shapes []core.Shape
	for c := 1; c <= maxClasses; c++ {
		shapes = append(shapes, core.Shape{Outer: 8, Classes: c, Inner: 1})
	}
	// rows longer than one assembly call: the partial sums, prefetching and
	// streamed stores carry on across calls
	shapes = append(shapes, core.Shape{Outer: 4, Classes: 32000, Inner: 1},
		core.Shape{Outer: 3, Classes: core.ChunkElements + 37, Inner: 1},
		core.Shape{Outer: 3, Classes: 70, Inner: 3})
	opt := core.Options{Reduction: core.ReductionNone, HasIgnoreIndex: true,
		IgnoreIndex: -100, LabelSmoothing: 0.1, ZLoss: 1e-3}
	meanOpt := opt
	meanOpt.Reduction = core.ReductionMean
	// Without smoothing, a streamed gradient is written one row late,
	// while the next row computes.
	plainOpt := core.Options{Reduction: core.ReductionSum, HasIgnoreIndex: true,
		IgnoreIndex: -100}
	noneOpt := core.Options{Reduction: core.ReductionNone}

	for si, s := range shapes {
		r := newRand(uint64(700 + si))
		positions := s.Outer * s.Inner
		x := kernelLogits[T](s, uint64(800+si))
		labels := convertLabels[L](applyIgnore(randomLabels(r, positions, s.Classes), s.Classes,
			ignoreNegative, &core.Options{}))
		weight := convertFloats[T](randomWeights(r, s.Classes))
		dy := convertFloats[T](randomValues(r, len(x)))

		type outputs struct {
			loss, grad, mean, meanGrad, sum, sumGrad, plain, plainGrad, y, logY, dx, logDx []T
		}
		run := func() outputs {
			o := outputs{loss: make([]T, positions), grad: make([]T, len(x)),
				mean: make([]T, 1), meanGrad: make([]T, len(x)), sum: make([]T, 1),
				sumGrad: make([]T, len(x)), plain: make([]T, positions),
				plainGrad: make([]T, len(x)), y: make([]T, len(x)),
				logY: make([]T, len(x)), dx: make([]T, len(x)), logDx: make([]T, len(x))}
			require.NoError(t, core.SparseCrossEntropy(o.loss, o.grad, x, labels, weight, nil, s,
				opt))
			require.NoError(t, core.SparseCrossEntropy(o.mean, o.meanGrad, x, labels, nil, nil, s,
				meanOpt))
			require.NoError(t, core.SparseCrossEntropy(o.sum, o.sumGrad, x, labels, weight, nil, s,
				plainOpt))
			plainLabels := make([]L, len(labels)) // no ignored labels
			for i := range plainLabels {
				plainLabels[i] = L(i % s.Classes)
			}
			require.NoError(t, core.SparseCrossEntropy(o.plain, o.plainGrad, x, plainLabels, nil,
				nil, s, noneOpt))
			require.NoError(t, core.Softmax(o.y, x, s))
			require.NoError(t, core.LogSoftmax(o.logY, x, s))
			require.NoError(t, core.SoftmaxBackward(o.dx, o.y, dy, s))
			require.NoError(t, core.LogSoftmaxBackward(o.logDx, o.logY, dy, s))
			return o
		}

		// The reference: the pure-Go kernel, row by row.
		var want outputs
		func() {
			defer core.UseKernel("purego")()
			defer core.DisableSmallRows()()
			want = run()
		}()
		for _, name := range core.KernelNames() {
			for _, stream := range []bool{false, true} {

				func() {
					defer core.UseKernel(name)()
					if stream {
						// Short rows stream only off the short-row path.
						defer core.ForceStreaming()()
						defer core.DisableSmallRows()()
					}
					got := run()
					call := fmt.Sprintf("%s kernel %s (streamed gradient %v)", typeName[T, L](),
						name, stream)
					output := func(f string) string { return fmt.Sprintf("%s(%s)", f, shapeString(s)) }
					assertSameBitsOrNaN(t, call, output("SparseCrossEntropy loss"), got.loss, want.loss)
					assertSameBitsOrNaN(t, call, output("SparseCrossEntropy grad"), got.grad, want.grad)
					assertSameBitsOrNaN(t, call, output("SparseCrossEntropy mean"), got.mean, want.mean)
					assertSameBitsOrNaN(t, call, output("SparseCrossEntropy mean grad"), got.meanGrad,
						want.meanGrad)
					assertSameBitsOrNaN(t, call, output("SparseCrossEntropy sum"), got.sum, want.sum)
					assertSameBitsOrNaN(t, call, output("SparseCrossEntropy sum grad"), got.sumGrad,
						want.sumGrad)
					assertSameBitsOrNaN(t, call, output("SparseCrossEntropy plain"), got.plain,
						want.plain)
					assertSameBitsOrNaN(t, call, output("SparseCrossEntropy plain grad"),
						got.plainGrad, want.plainGrad)
					assertSameBitsOrNaN(t, call, output("Softmax"), got.y, want.y)
					assertSameBitsOrNaN(t, call, output("LogSoftmax"), got.logY, want.logY)
					assertSameBitsOrNaN(t, call, output("SoftmaxBackward"), got.dx, want.dx)
					assertSameBitsOrNaN(t, call, output("LogSoftmaxBackward"), got.logDx, want.logDx)
				}()
			}
		}
	}
}
