package core_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/softmaxce/softmaxce/core"
)

// withThreads runs f with the package's thread count set to n. The count is
// package-wide, so f must not call t.Parallel.
func withThreads(t *testing.T, n int, f func()) {
	t.Helper()
	previous := core.NumThreads()
	require.NoError(t, core.SetNumThreads(n), "SetNumThreads(%d)", n)
	defer func() { require.NoError(t, core.SetNumThreads(previous)) }()
	f()
}

func TestResultsIndependentOfThreads(t *testing.T) {
	t.Run("f32/int64", testThreadsIndependent[float32, int64])
	t.Run("f64/int32", testThreadsIndependent[float64, int32])
}

// testThreadsIndependent checks that every function returns the same bits
// with 1, 2, 3 and 8 threads and every kernel, on shapes of several blocks
// of work.
func testThreadsIndependent[T core.Float, L core.Label](t *testing.T) {
	shapes := []core.Shape{
		{Outer: 7*core.BlockElements/1000 + 5, Classes: 1000, Inner: 1},
		{Outer: 3, Classes: 10, Inner: core.BlockElements/10 + 7},
	}
	for si, s := range shapes {
		r := newRand(uint64(900 + si))
		positions := s.Outer * s.Inner
		x := randomLogits[T](r, s)
		labels := convertLabels[L](applyIgnore(randomLabels(r, positions, s.Classes), s.Classes,
			ignoreNegative, &core.Options{}))
		weight := convertFloats[T](randomWeights(r, s.Classes))
		dy := convertFloats[T](randomValues(r, len(x)))

		type outputs struct {
			none, grad, sum, mean, meanGrad, plain, plainGrad, y, logY, dx []T
		}
		run := func() outputs {
			o := outputs{none: make([]T, positions), grad: make([]T, len(x)),
				sum: make([]T, 1), mean: make([]T, 1), meanGrad: make([]T, len(x)),
				plain: make([]T, 1), plainGrad: make([]T, len(x)), y: make([]T, len(x)),
				logY: make([]T, len(x)), dx: make([]T, len(x))}
			opt := core.Options{HasIgnoreIndex: true, IgnoreIndex: -100, LabelSmoothing: 0.1,
				ZLoss: 1e-3}
			require.NoError(t, core.SparseCrossEntropy(o.none, o.grad, x, labels, weight, nil, s,
				opt))
			opt.Reduction = core.ReductionSum
			require.NoError(t, core.SparseForward(o.sum, x, labels, weight, s, opt))
			opt.Reduction = core.ReductionMean
			require.NoError(t, core.SparseCrossEntropy(o.mean, o.meanGrad, x, labels, weight, nil,
				s, opt))
			// Without smoothing or z-loss, a streamed gradient is written one
			// row late, across blocks, and short rows go through the batch
			// kernels.
			plainOpt := core.Options{Reduction: core.ReductionMean, HasIgnoreIndex: true,
				IgnoreIndex: -100}
			require.NoError(t, core.SparseCrossEntropy(o.plain, o.plainGrad, x, labels, nil, nil,
				s, plainOpt))
			require.NoError(t, core.Softmax(o.y, x, s))
			require.NoError(t, core.LogSoftmax(o.logY, x, s))
			require.NoError(t, core.SoftmaxBackward(o.dx, o.y, dy, s))
			return o
		}

		var want outputs
		withThreads(t, 1, func() { want = run() })
		// Every kernel, so that each one's streamed stores are fenced on
		// every thread too.
		for _, kernel := range core.KernelNames() {
			for _, n := range []int{1, 2, 3, 8} {
				for _, stream := range []bool{false, true} {
					withThreads(t, n, func() {
						defer core.UseKernel(kernel)()
						// A streamed gradient must not change a bit either.
						if stream {
							defer core.ForceStreaming()()
						}
						got := run()
						call := func(f string) string {
							return fmt.Sprintf("%s(%s %s, kernel %s, %d threads, streamed %v)", f,
								typeName[T, L](), shapeString(s), kernel, n, stream)
						}
						assertSameBits(t, call("SparseCrossEntropy"), "loss", got.none, want.none)
						assertSameBits(t, call("SparseCrossEntropy"), "grad", got.grad, want.grad)
						assertSameBits(t, call("SparseForward sum"), "loss", got.sum, want.sum)
						assertSameBits(t, call("SparseCrossEntropy mean"), "loss", got.mean, want.mean)
						assertSameBits(t, call("SparseCrossEntropy mean"), "grad", got.meanGrad,
							want.meanGrad)
						assertSameBits(t, call("SparseCrossEntropy plain"), "loss", got.plain, want.plain)
						assertSameBits(t, call("SparseCrossEntropy plain"), "grad", got.plainGrad,
							want.plainGrad)
						assertSameBits(t, call("Softmax"), "output", got.y, want.y)
						assertSameBits(t, call("LogSoftmax"), "output", got.logY, want.logY)
						assertSameBits(t, call("SoftmaxBackward"), "dx", got.dx, want.dx)
					})
				}
			}
		}
	}
}

func TestSetNumThreads(t *testing.T) {
	previous := core.NumThreads()
	defer func() { require.NoError(t, core.SetNumThreads(previous)) }()

	for _, n := range []int{1, 5, 1024} {
		require.NoErrorf(t, core.SetNumThreads(n), "SetNumThreads(%d)", n)
		assert.Equalf(t, n, core.NumThreads(), "NumThreads() after SetNumThreads(%d)", n)
	}
	for _, n := range []int{-1, 1025} {
		require.NoError(t, core.SetNumThreads(3))
		err := core.SetNumThreads(n)
		assert.ErrorIsf(t, err, core.ErrInvalidArgument, "SetNumThreads(%d) error = %v", n, err)
		if assert.Errorf(t, err, "SetNumThreads(%d)", n) {
			assert.Containsf(t, err.Error(), fmt.Sprint(n), "SetNumThreads(%d) error message", n)
		}
		assert.Equalf(t, 3, core.NumThreads(), "NumThreads() after SetNumThreads(%d) failed", n)
	}

	// 0 restores the default, which does not depend on what was set before.
	require.NoError(t, core.SetNumThreads(0))
	def := core.NumThreads()
	require.NoError(t, core.SetNumThreads(7))
	require.NoError(t, core.SetNumThreads(0))
	assert.Equal(t, def, core.NumThreads(), "NumThreads() after SetNumThreads(0)")
	assert.GreaterOrEqual(t, def, 1, "default NumThreads()")
}
