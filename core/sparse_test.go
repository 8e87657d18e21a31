package core_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softmaxce/softmaxce/core"
)

// referenceShapes are the shapes compared against the reference with every
// combination of options. They cover single elements, single rows, small
// and odd batches, and a class count of 131 (twice the number of partial
// sums plus a tail). The last three are a large vocabulary and strided
// (K-dimensional) layouts.
var referenceShapes = []core.Shape{
	{Outer: 1, Classes: 1, Inner: 1},
	{Outer: 1, Classes: 5, Inner: 1},
	{Outer: 7, Classes: 3, Inner: 1},
	{Outer: 64, Classes: 10, Inner: 1},
	{Outer: 5, Classes: 131, Inner: 1},
	{Outer: 33, Classes: 1000, Inner: 1},
	{Outer: 3, Classes: 7, Inner: 5},
	{Outer: 2, Classes: 70, Inner: 3},
}

// ignoreMode selects how a test uses the ignore index.
type ignoreMode int

const (
	ignoreOff      ignoreMode = iota
	ignoreNegative            // -100, PyTorch's default, on every fourth position
	ignoreInside              // Classes/2, a valid class, also set on every fourth position
	ignoreAbove               // Classes+2, on every fourth position
)

// applyIgnore sets opt's ignore index for mode and returns labels with every
// fourth position (1, 5, 9, ...) set to it.
func applyIgnore(labels []int64, classes int, mode ignoreMode, opt *core.Options) []int64 {
	out := append([]int64(nil), labels...)
	switch mode {
	case ignoreOff:
		return out
	case ignoreNegative:
		opt.IgnoreIndex = -100
	case ignoreInside:
		opt.IgnoreIndex = int64(classes / 2)
	case ignoreAbove:
		opt.IgnoreIndex = int64(classes + 2)
	}
	opt.HasIgnoreIndex = true
	for p := 1; p < len(out); p += 4 {
		out[p] = opt.IgnoreIndex
	}
	return out
}

// reductionVariants lists ReductionNone, ReductionSum and ReductionMean with
// each denominator.
var reductionVariants = []core.Options{
	{Reduction: core.ReductionNone},
	{Reduction: core.ReductionSum},
	{Reduction: core.ReductionMean, MeanBy: core.MeanByWeightSum},
	{Reduction: core.ReductionMean, MeanBy: core.MeanByValidCount},
	{Reduction: core.ReductionMean, MeanBy: core.MeanByOuter},
	{Reduction: core.ReductionMean, MeanBy: core.MeanByPositions},
}

// sparseInputs are the inputs of one call in the tested types, and the same
// values converted to float64 for the reference.
type sparseInputs[T core.Float, L core.Label] struct {
	shape      core.Shape
	logits     []T
	labels     []L
	weight     []T
	gradOutput []T

	x, weight64, gradOutput64 []float64
	labels64                  []int64
}

func newSparseInputs[T core.Float, L core.Label](s core.Shape, logits []T, labels []int64,
	weight, gradOutput []float64) sparseInputs[T, L] {
	in := sparseInputs[T, L]{shape: s, logits: logits, labels: convertLabels[L](labels),
		weight: convertFloats[T](weight), gradOutput: convertFloats[T](gradOutput)}
	in.x = toFloat64(in.logits)
	in.labels64 = labels
	in.weight64 = toFloat64(in.weight)
	in.gradOutput64 = toFloat64(in.gradOutput)
	return in
}

func lossLength(s core.Shape, r core.Reduction) int {
	if r == core.ReductionNone {
		return s.Outer * s.Inner
	}
	return 1
}

// callString describes a SparseCrossEntropy call for failure messages.
func callString[T core.Float, L core.Label](in sparseInputs[T, L], opt core.Options) string {
	return fmt.Sprintf("SparseCrossEntropy(%s %s %s weight=%t grad_output=%d values)",
		typeName[T, L](), shapeString(in.shape), optionsString(opt), in.weight != nil,
		len(in.gradOutput))
}

// checkAgainstReference runs the fused call on sentinel-filled outputs and
// compares loss and gradient with the reference.
func checkAgainstReference[T core.Float, L core.Label](t *testing.T, in sparseInputs[T, L],
	opt core.Options) bool {
	t.Helper()
	call := callString(in, opt)
	loss := filled(lossLength(in.shape, opt.Reduction), sentinel[T]())
	grad := filled(len(in.logits), sentinel[T]())
	err := core.SparseCrossEntropy(loss, grad, in.logits, in.labels, in.weight, in.gradOutput,
		in.shape, opt)
	require.NoErrorf(t, err, "%s", call)

	ref := refSparse(in.x, in.labels64, in.weight64, in.gradOutput64, in.shape, opt)
	okLoss := assertWithinScale(t, call, "loss", loss, ref.loss, ref.lossScale, tolerance[T]())
	okGrad := assertWithinScale(t, call, "grad", grad, ref.grad, ref.gradScale, tolerance[T]())
	return okLoss && okGrad
}

func TestSparseCrossEntropyMatchesReference(t *testing.T) {
	t.Run("f32/int32", testSparseReference[float32, int32])
	t.Run("f32/int64", testSparseReference[float32, int64])
	t.Run("f64/int32", testSparseReference[float64, int32])
	t.Run("f64/int64", testSparseReference[float64, int64])
}

// testSparseReference compares every combination of reduction, mean
// denominator, ignore index, class weights, label smoothing, z-loss and
// grad_output with the reference, on every shape of referenceShapes.
func testSparseReference[T core.Float, L core.Label](t *testing.T) {
	t.Parallel()
	for si, s := range referenceShapes {
		t.Run(shapeString(s), func(t *testing.T) {
			if testing.Short() && s.Outer*s.Classes*s.Inner > 10000 {
				t.Skip("large shape: runs without -short")
			}
			r := newRand(uint64(100 + si))
			positions := s.Outer * s.Inner
			logits := randomLogits[T](r, s)
			labels := randomLabels(r, positions, s.Classes)
			weights := randomWeights(r, s.Classes)
			perPosition := randomValues(r, positions)

			failures := 0
			modes := []ignoreMode{ignoreOff, ignoreNegative, ignoreInside, ignoreAbove}
			for _, mode := range modes {
				for _, variant := range reductionVariants {
					for _, useWeight := range []bool{false, true} {
						for _, eps := range []float64{0, 0.1, 1} {
							for _, z := range []float64{0, 0.01} {
								for _, useGradOutput := range []bool{false, true} {
									opt := variant
									opt.LabelSmoothing, opt.ZLoss = eps, z
									y := applyIgnore(labels, s.Classes, mode, &opt)
									var w, g []float64
									if useWeight {
										w = weights
									}
									if useGradOutput && opt.Reduction == core.ReductionNone {
										g = perPosition
									} else if useGradOutput {
										g = []float64{-0.75}
									}
									in := newSparseInputs[T, L](s, logits, y, w, g)
									if !checkAgainstReference(t, in, opt) {
										failures++
									}
									if failures >= 5 {
										t.Fatalf("stopping after %d failing calls", failures)
									}
								}
							}
						}
					}
				}
			}
		})
	}
}

// TestSparseManyBlocksMatchesReference covers batches that span several
// blocks of work, where per-block loss sums are added in block order.
func TestSparseManyBlocksMatchesReference(t *testing.T) {
	t.Run("f32/int64", testSparseManyBlocks[float32, int64])
	t.Run("f64/int32", testSparseManyBlocks[float64, int32])
}

func testSparseManyBlocks[T core.Float, L core.Label](t *testing.T) {
	t.Parallel()
	for _, classes := range []int{1000, 3} {
		perBlock := max(1, core.BlockElements/classes)
		s := core.Shape{Outer: 3*perBlock + 7, Classes: classes, Inner: 1}
		r := newRand(uint64(classes))
		logits := randomLogits[T](r, s)
		labels := randomLabels(r, s.Outer, classes)
		weights := randomWeights(r, classes)
		for _, variant := range reductionVariants {
			opt := variant
			opt.LabelSmoothing, opt.ZLoss = 0.1, 0.01
			y := applyIgnore(labels, classes, ignoreNegative, &opt)
			checkAgainstReference(t, newSparseInputs[T, L](s, logits, y, weights, nil), opt)
		}
	}
}

// TestSparseWideLogitsMatchesReference uses logits of standard deviation 30
// in a row, so that x - max spans the whole range where exp(x - max) is
// normal, and beyond it, where it underflows to 0.
func TestSparseWideLogitsMatchesReference(t *testing.T) {
	t.Run("f32/int32", testSparseWideLogits[float32, int32])
	t.Run("f64/int64", testSparseWideLogits[float64, int64])
}

func testSparseWideLogits[T core.Float, L core.Label](t *testing.T) {
	for _, s := range []core.Shape{{Outer: 20, Classes: 1000, Inner: 1},
		{Outer: 3, Classes: 131, Inner: 4}} {
		r := newRand(uint64(s.Classes))
		logits := randomLogitsSpread[T](r, s, 30)
		labels := randomLabels(r, s.Outer*s.Inner, s.Classes)
		weights := randomWeights(r, s.Classes)
		perPosition := randomValues(r, s.Outer*s.Inner)
		for _, variant := range reductionVariants {
			for _, eps := range []float64{0, 0.1} {
				opt := variant
				opt.LabelSmoothing, opt.ZLoss = eps, 1e-3
				y := applyIgnore(labels, s.Classes, ignoreNegative, &opt)
				g := []float64{1.25}
				if opt.Reduction == core.ReductionNone {
					g = perPosition
				}
				checkAgainstReference(t, newSparseInputs[T, L](s, logits, y, weights, g), opt)
			}
		}
	}
}

// TestSparseMeanFloat32ManyRows checks the float32 mean of 100000 rows
// against the reference. A float32 running sum would drift by about
// 1e5 * 2^-24 relative to the result, far beyond the tolerance.
func TestSparseMeanFloat32ManyRows(t *testing.T) {
	s := core.Shape{Outer: 100000, Classes: 2, Inner: 1}
	r := newRand(7)
	logits := randomLogits[float32](r, s)
	labels := randomLabels(r, s.Outer, s.Classes)
	opt := core.Options{Reduction: core.ReductionMean}
	checkAgainstReference(t, newSparseInputs[float32, int64](s, logits, labels, nil, nil), opt)
}

// transposeToRows returns the (Outer, Classes, Inner) buffer x as an
// (Outer*Inner, Classes) matrix.
func transposeToRows[T any](x []T, s core.Shape) []T {
	out := make([]T, len(x))
	for o := 0; o < s.Outer; o++ {
		for c := 0; c < s.Classes; c++ {
			for i := 0; i < s.Inner; i++ {
				out[(o*s.Inner+i)*s.Classes+c] = x[refIndex(s, o, c, i)]
			}
		}
	}
	return out
}

func TestSparseKDimEqualsTransposedBitwise(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		t.Run("f32/int32", testSparseKDimTransposed[float32, int32])
		t.Run("f64/int64", testSparseKDimTransposed[float64, int64])
	})
}

// testSparseKDimTransposed checks that a strided layout gives the same bits
// as the same data laid out as rows, for loss and gradient.
func testSparseKDimTransposed[T core.Float, L core.Label](t *testing.T) {
	shapes := []core.Shape{
		{Outer: 3, Classes: 7, Inner: 5},
		{Outer: 2, Classes: 70, Inner: 3},
		{Outer: 2, Classes: 1, Inner: 4},
		{Outer: 1, Classes: 200, Inner: 400},
	}
	for si, s := range shapes {
		r := newRand(uint64(200 + si))
		positions := s.Outer * s.Inner
		logits := randomLogits[T](r, s)
		labels := randomLabels(r, positions, s.Classes)
		weight := convertFloats[T](randomWeights(r, s.Classes))
		perPosition := convertFloats[T](randomValues(r, positions))
		rows := core.Shape{Outer: positions, Classes: s.Classes, Inner: 1}
		rowLogits := transposeToRows(logits, s)

		for _, variant := range reductionVariants {
			if variant.MeanBy == core.MeanByOuter {
				continue // Outer differs between the two layouts, so the means do
			}
			opt := variant
			opt.LabelSmoothing, opt.ZLoss = 0.1, 0.01
			y := convertLabels[L](applyIgnore(labels, s.Classes, ignoreInside, &opt))
			gradOutput := []T{1.5}
			if opt.Reduction == core.ReductionNone {
				gradOutput = perPosition
			}
			call := fmt.Sprintf("SparseCrossEntropy(%s %s %s)", typeName[T, L](),
				shapeString(s), optionsString(opt))

			loss := make([]T, lossLength(s, opt.Reduction))
			grad := make([]T, len(logits))
			err := core.SparseCrossEntropy(loss, grad, logits, y, weight, gradOutput, s, opt)
			require.NoErrorf(t, err, "%s", call)

			rowLoss := make([]T, len(loss))
			rowGrad := make([]T, len(logits))
			err = core.SparseCrossEntropy(rowLoss, rowGrad, rowLogits, y, weight, gradOutput,
				rows, opt)
			require.NoErrorf(t, err, "%s as rows", call)

			assertSameBits(t, call, "loss", loss, rowLoss)
			assertSameBits(t, call, "grad transposed", transposeToRows(grad, s), rowGrad)
		}
	}
}

func TestSparseFusedEqualsForwardBackward(t *testing.T) {
	t.Run("f32/int64", testSparseFused[float32, int64])
	t.Run("f64/int32", testSparseFused[float64, int32])
}

// testSparseFused checks that SparseForward and SparseBackward give the
// bits of the fused call.
func testSparseFused[T core.Float, L core.Label](t *testing.T) {
	for si, s := range referenceShapes {
		r := newRand(uint64(300 + si))
		positions := s.Outer * s.Inner
		logits := randomLogits[T](r, s)
		labels := randomLabels(r, positions, s.Classes)
		weight := convertFloats[T](randomWeights(r, s.Classes))
		perPosition := convertFloats[T](randomValues(r, positions))
		for _, variant := range reductionVariants {
			for _, eps := range []float64{0, 0.1} {
				opt := variant
				opt.LabelSmoothing, opt.ZLoss = eps, 0.01
				y := convertLabels[L](applyIgnore(labels, s.Classes, ignoreNegative, &opt))
				gradOutput := []T{0.5}
				if opt.Reduction == core.ReductionNone {
					gradOutput = perPosition
				}
				call := fmt.Sprintf("SparseCrossEntropy(%s %s %s)", typeName[T, L](),
					shapeString(s), optionsString(opt))

				loss := make([]T, lossLength(s, opt.Reduction))
				grad := make([]T, len(logits))
				err := core.SparseCrossEntropy(loss, grad, logits, y, weight, gradOutput, s, opt)
				require.NoErrorf(t, err, "%s", call)

				forward := filled(len(loss), sentinel[T]())
				require.NoErrorf(t, core.SparseForward(forward, logits, y, weight, s, opt),
					"SparseForward for %s", call)
				backward := filled(len(grad), sentinel[T]())
				require.NoErrorf(t, core.SparseBackward(backward, logits, y, weight, gradOutput,
					s, opt), "SparseBackward for %s", call)

				assertSameBits(t, call, "SparseForward loss", forward, loss)
				assertSameBits(t, call, "SparseBackward grad", backward, grad)
			}
		}
	}
}

func TestSparseInPlaceEqualsOutOfPlace(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		t.Run("f32/int32", testSparseInPlace[float32, int32])
		t.Run("f64/int64", testSparseInPlace[float64, int64])
	})
}

// testSparseInPlace passes the logits as grad and checks that the gradient
// written over them has the bits of an out-of-place call, loss included.
func testSparseInPlace[T core.Float, L core.Label](t *testing.T) {
	for si, s := range referenceShapes {
		r := newRand(uint64(400 + si))
		positions := s.Outer * s.Inner
		logits := randomLogits[T](r, s)
		labels := randomLabels(r, positions, s.Classes)
		weight := convertFloats[T](randomWeights(r, s.Classes))
		for _, variant := range reductionVariants {
			for _, eps := range []float64{0, 0.1, 1} {
				opt := variant
				opt.LabelSmoothing, opt.ZLoss = eps, 0.01
				y := convertLabels[L](applyIgnore(labels, s.Classes, ignoreAbove, &opt))
				call := fmt.Sprintf("SparseCrossEntropy(%s %s %s in place)", typeName[T, L](),
					shapeString(s), optionsString(opt))

				loss := make([]T, lossLength(s, opt.Reduction))
				grad := make([]T, len(logits))
				err := core.SparseCrossEntropy(loss, grad, logits, y, weight, nil, s, opt)
				require.NoErrorf(t, err, "%s out of place", call)

				inPlace := append([]T(nil), logits...)
				inPlaceLoss := make([]T, len(loss))
				err = core.SparseCrossEntropy(inPlaceLoss, inPlace, inPlace, y, weight, nil, s, opt)
				require.NoErrorf(t, err, "%s", call)

				assertSameBits(t, call, "grad", inPlace, grad)
				assertSameBits(t, call, "loss", inPlaceLoss, loss)
			}
		}
	}
}

func TestSparseDeterministic(t *testing.T) {
	s := core.Shape{Outer: 300, Classes: 1000, Inner: 1}
	r := newRand(11)
	logits := randomLogits[float32](r, s)
	labels := randomLabels(r, s.Outer, s.Classes)
	opt := core.Options{Reduction: core.ReductionMean, LabelSmoothing: 0.1, ZLoss: 1e-4}

	run := func() ([]float32, []float32) {
		loss, grad := make([]float32, 1), make([]float32, len(logits))
		require.NoError(t, core.SparseCrossEntropy(loss, grad, logits, labels, nil, nil, s, opt))
		return loss, grad
	}
	loss, grad := run()

	// Sequential calls, then calls from several goroutines at once.
	again, againGrad := run()
	assertSameBits(t, "SparseCrossEntropy(second call)", "loss", again, loss)
	assertSameBits(t, "SparseCrossEntropy(second call)", "grad", againGrad, grad)

	const goroutines = 4
	type result struct{ loss, grad []float32 }
	results := make(chan result, goroutines)
	for range goroutines {
		go func() {
			l, g := make([]float32, 1), make([]float32, len(logits))
			if core.SparseCrossEntropy(l, g, logits, labels, nil, nil, s, opt) != nil {
				l[0] = float32(math.Inf(-1))
			}
			results <- result{l, g}
		}()
	}
	for range goroutines {
		res := <-results
		assertSameBits(t, "SparseCrossEntropy(concurrent call)", "loss", res.loss, loss)
		assertSameBits(t, "SparseCrossEntropy(concurrent call)", "grad", res.grad, grad)
	}
}

func TestSparseGuardRegions(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		t.Run("f32/int32", testSparseGuards[float32, int32])
		t.Run("f64/int64", testSparseGuards[float64, int64])
	})
}

// testSparseGuards sweeps the class count up to twice the number of partial
// sums plus a tail. Outputs and logits sit inside sentinel-filled buffers,
// and the test checks that nothing outside the outputs is written and that
// the inputs are unchanged.
func testSparseGuards[T core.Float, L core.Label](t *testing.T) {
	maxClasses := 2*max(core.Partials32, core.Partials64) + 3
	for classes := 1; classes <= maxClasses; classes++ {
		for _, inner := range []int{1, 3} {
			s := core.Shape{Outer: 2, Classes: classes, Inner: inner}
			r := newRand(uint64(classes*10 + inner))
			n, positions := 2*classes*inner, 2*inner
			labels := convertLabels[L](randomLabels(r, positions, classes))
			weight := convertFloats[T](randomWeights(r, classes))
			for _, variant := range []core.Options{reductionVariants[0], reductionVariants[2]} {
				opt := variant
				opt.LabelSmoothing, opt.ZLoss = 0.1, 0.01
				call := fmt.Sprintf("SparseCrossEntropy(%s %s %s)", typeName[T, L](),
					shapeString(s), optionsString(opt))

				logitsBuf := newGuarded[T](n)
				copy(logitsBuf.slice(), randomLogits[T](r, s))
				saved := append([]T(nil), logitsBuf.slice()...)
				savedLabels := append([]L(nil), labels...)
				lossBuf := newGuarded[T](lossLength(s, opt.Reduction))
				gradBuf := newGuarded[T](n)

				err := core.SparseCrossEntropy(lossBuf.slice(), gradBuf.slice(), logitsBuf.slice(),
					labels, weight, nil, s, opt)
				require.NoErrorf(t, err, "%s", call)
				lossBuf.checkGuards(t, call, "loss")
				gradBuf.checkGuards(t, call, "grad")
				logitsBuf.checkGuards(t, call, "logits")
				assertSameBits(t, call, "logits after the call", logitsBuf.slice(), saved)
				require.Equalf(t, savedLabels, labels, "%s changed the labels", call)

				// In place: the gradient replaces the logits inside the guards.
				err = core.SparseCrossEntropy(lossBuf.slice(), logitsBuf.slice(), logitsBuf.slice(),
					labels, weight, nil, s, opt)
				require.NoErrorf(t, err, "%s in place", call)
				logitsBuf.checkGuards(t, call+" in place", "grad")
				assertSameBits(t, call, "in-place grad", logitsBuf.slice(), gradBuf.slice())
			}
		}
	}
}
