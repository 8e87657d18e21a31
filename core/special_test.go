package core_test

import (
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/softmaxce/softmaxce/core"
)

// Tests of the special cases listed in the SparseCrossEntropy documentation.
// Expected values here follow from the definitions alone, not from the
// reference.

func TestSparseSpecialCases(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		t.Run("f32/int32", testSparseSpecialCases[float32, int32])
		t.Run("f32/int64", testSparseSpecialCases[float32, int64])
		t.Run("f64/int32", testSparseSpecialCases[float64, int32])
		t.Run("f64/int64", testSparseSpecialCases[float64, int64])
	})
}

func testSparseSpecialCases[T core.Float, L core.Label](t *testing.T) {
	t.Run("ignored rows with non-finite logits", testIgnoredNonFinite[T, L])
	t.Run("mean with zero denominator", testMeanZeroDenominator[T, L])
	t.Run("empty batch", testEmptyBatch[T, L])
	t.Run("target logit -Inf", testTargetNegInf[T, L])
	t.Run("non-target logit -Inf", testNonTargetNegInf[T, L])
	t.Run("undefined rows", testUndefinedRows[T, L])
	t.Run("huge equal logits", testHugeEqualLogits[T, L])
}

// rowAlone returns the loss and gradient of one row of C logits computed on
// its own, with reduction none.
func rowAlone[T core.Float, L core.Label](t *testing.T, x []T, label L,
	opt core.Options) (T, []T) {
	t.Helper()
	opt.Reduction = core.ReductionNone
	loss, grad := make([]T, 1), make([]T, len(x))
	err := core.SparseCrossEntropy(loss, grad, x, []L{label}, nil, nil,
		core.Shape{Outer: 1, Classes: len(x), Inner: 1}, opt)
	require.NoError(t, err)
	return loss[0], grad
}

// testIgnoredNonFinite: an ignored position contributes loss 0 and a zero
// gradient whatever its logits hold, and does not disturb the other rows.
func testIgnoredNonFinite[T core.Float, L core.Label](t *testing.T) {
	nan, inf := T(math.NaN()), T(math.Inf(1))
	logits := []T{
		nan, 1, 2,
		0.5, -1, 3,
		inf, -inf, 0,
		-inf, -inf, -inf,
	}
	labels := []L{-100, 1, -100, -100}
	s := core.Shape{Outer: 4, Classes: 3, Inner: 1}
	opt := core.Options{HasIgnoreIndex: true, IgnoreIndex: -100}
	keptLoss, keptGrad := rowAlone[T, L](t, logits[3:6], 1, opt)

	for _, r := range []core.Reduction{core.ReductionNone, core.ReductionSum,
		core.ReductionMean} {
		opt.Reduction = r
		call := fmt.Sprintf("SparseCrossEntropy(%s %s)", typeName[T, L](), optionsString(opt))
		loss := filled(lossLength(s, r), sentinel[T]())
		grad := filled(12, sentinel[T]())
		require.NoErrorf(t, core.SparseCrossEntropy(loss, grad, logits, labels, nil, nil, s, opt),
			"%s", call)

		// The mean has one kept row, so all three reductions equal that row.
		if r == core.ReductionNone {
			assertSameBits(t, call, "loss", loss, []T{0, keptLoss, 0, 0})
		} else {
			assertSameBits(t, call, "loss", loss, []T{keptLoss})
		}
		want := append(append(make([]T, 3), keptGrad...), make([]T, 6)...)
		assertSameBits(t, call, "grad", grad, want)
	}
}

// testMeanZeroDenominator: a mean over nothing is NaN with a zero gradient.
func testMeanZeroDenominator[T core.Float, L core.Label](t *testing.T) {
	logits := []T{1, 2, 3, 0, 0, 0}
	s := core.Shape{Outer: 2, Classes: 3, Inner: 1}
	cases := []struct {
		name   string
		labels []L
		weight []T
		meanBy core.MeanBy
	}{
		{"all ignored", []L{-100, -100}, nil, core.MeanByWeightSum},
		{"all ignored, by valid count", []L{-100, -100}, nil, core.MeanByValidCount},
		{"zero total weight", []L{1, 1}, []T{1, 0, 2}, core.MeanByWeightSum},
	}
	for _, tc := range cases {
		opt := core.Options{Reduction: core.ReductionMean, MeanBy: tc.meanBy,
			HasIgnoreIndex: true, IgnoreIndex: -100, LabelSmoothing: 0.1, ZLoss: 0.01}
		call := fmt.Sprintf("SparseCrossEntropy(%s %s, %s)", typeName[T, L](),
			optionsString(opt), tc.name)
		loss, grad := filled(1, sentinel[T]()), filled(6, sentinel[T]())
		require.NoErrorf(t, core.SparseCrossEntropy(loss, grad, logits, tc.labels, tc.weight,
			nil, s, opt), "%s", call)
		assert.Truef(t, math.IsNaN(float64(loss[0])) && bits(loss[0]) != bits(sentinel[T]()),
			"%s loss = %v, want NaN (written, not the sentinel)", call, loss[0])
		assertSameBits(t, call, "grad", grad, make([]T, 6))
	}

	// A zero total weight is not a zero denominator when the mean counts
	// positions: the loss is 0/2.
	opt := core.Options{Reduction: core.ReductionMean, MeanBy: core.MeanByValidCount}
	loss, grad := filled(1, sentinel[T]()), filled(6, sentinel[T]())
	require.NoError(t, core.SparseCrossEntropy(loss, grad, logits, []L{1, 1}, []T{1, 0, 2}, nil,
		s, opt))
	assertSameBits(t, "SparseCrossEntropy(weight 0 on every label, mean by valid count)",
		"loss", loss, []T{0})
}

// testEmptyBatch: none over nothing writes nothing, a sum is 0, a mean NaN;
// for an empty batch and for an empty spatial axis.
func testEmptyBatch[T core.Float, L core.Label](t *testing.T) {
	for _, s := range []core.Shape{{Outer: 0, Classes: 3, Inner: 1},
		{Outer: 2, Classes: 3, Inner: 0}} {
		for _, r := range []core.Reduction{core.ReductionNone, core.ReductionSum,
			core.ReductionMean} {
			opt := core.Options{Reduction: r}
			call := fmt.Sprintf("SparseCrossEntropy(%s %s %s)", typeName[T, L](),
				shapeString(s), optionsString(opt))
			var loss []T
			if r != core.ReductionNone {
				loss = filled(1, sentinel[T]())
			}
			err := core.SparseCrossEntropy(loss, []T{}, []T{}, []L{}, nil, nil, s, opt)
			require.NoErrorf(t, err, "%s", call)
			switch r {
			case core.ReductionSum:
				assertSameBits(t, call, "loss", loss, []T{0})
			case core.ReductionMean:
				assert.Truef(t, math.IsNaN(float64(loss[0])) &&
					bits(loss[0]) != bits(sentinel[T]()), "%s loss = %v, want NaN", call, loss[0])
			}
		}
	}
}

// testTargetNegInf: x_y = -Inf with finite others gives loss +Inf and the
// finite gradient p - onehot, with p_y = 0.
func testTargetNegInf[T core.Float, L core.Label](t *testing.T) {
	x := []T{T(math.Inf(-1)), 1, 2}
	loss, grad := rowAlone[T, L](t, x, 0, core.Options{})
	assert.Truef(t, math.IsInf(float64(loss), 1), "SparseCrossEntropy(x_y = -Inf) loss = %v, "+
		"want +Inf", loss)

	// p over the finite logits is softmax([1, 2]).
	e := 1 / (1 + math.Exp(1))
	want := []float64{-1, e, 1 - e}
	scale := []float64{1, 1, 1}
	assertWithinScale(t, "SparseCrossEntropy(x_y = -Inf)", "grad", grad, want, scale,
		tolerance[T]())
}

// testNonTargetNegInf: a -Inf logit other than the target has probability 0,
// so its gradient is exactly 0 and the loss equals that of the row without it.
func testNonTargetNegInf[T core.Float, L core.Label](t *testing.T) {
	x := []T{1, T(math.Inf(-1)), 2, T(math.Inf(-1))}
	loss, grad := rowAlone[T, L](t, x, 2, core.Options{})
	call := "SparseCrossEntropy(non-target -Inf)"
	assert.Equalf(t, T(0), grad[1], "%s grad[1] = %v, want 0", call, grad[1])
	assert.Equalf(t, T(0), grad[3], "%s grad[3] = %v, want 0", call, grad[3])

	// The row without its -Inf logits: the same values up to rounding.
	without, withoutGrad := rowAlone[T, L](t, []T{1, 2}, 1, core.Options{})
	assertWithinScale(t, call, "loss", []T{loss}, []float64{float64(without)},
		[]float64{1 + math.Abs(float64(without))}, tolerance[T]())
	assertWithinScale(t, call, "grad of the finite logits", []T{grad[0], grad[2]},
		toFloat64(withoutGrad), []float64{1, 1}, tolerance[T]())
}

// testUndefinedRows: a kept row that is all -Inf, or contains NaN or +Inf,
// has NaN loss and a NaN gradient row. The other rows are unaffected, and
// sums over it are NaN.
func testUndefinedRows[T core.Float, L core.Label](t *testing.T) {
	nan, inf := T(math.NaN()), T(math.Inf(1))
	rows := []struct {
		name string
		x    []T
	}{
		{"all -Inf", []T{-inf, -inf, -inf}},
		{"NaN", []T{0, nan, 1}},
		{"NaN in the target", []T{nan, 0, 1}},
		{"+Inf", []T{0, inf, 1}},
		{"+Inf and -Inf", []T{-inf, inf, 1}},
	}
	good := []T{0.5, -1, 3}
	goodLoss, goodGrad := rowAlone[T, L](t, good, 2, core.Options{})
	s := core.Shape{Outer: 3, Classes: 3, Inner: 1}

	for _, row := range rows {
		logits := append(append(append([]T(nil), good...), row.x...), good...)
		labels := []L{2, 0, 2}
		for _, r := range []core.Reduction{core.ReductionNone, core.ReductionSum,
			core.ReductionMean} {
			opt := core.Options{Reduction: r}
			call := fmt.Sprintf("SparseCrossEntropy(%s row %s, %s)", typeName[T, L](), row.name,
				optionsString(opt))
			loss := filled(lossLength(s, r), sentinel[T]())
			grad := filled(9, sentinel[T]())
			require.NoErrorf(t, core.SparseCrossEntropy(loss, grad, logits, labels, nil, nil, s,
				opt), "%s", call)

			for i, v := range loss {
				bad := r != core.ReductionNone || i == 1
				if bad {
					assert.Truef(t, math.IsNaN(float64(v)) && bits(v) != bits(sentinel[T]()),
						"%s loss[%d] = %v, want NaN", call, i, v)
				}
			}
			for j := 3; j < 6; j++ {
				assert.Truef(t, math.IsNaN(float64(grad[j])) &&
					bits(grad[j]) != bits(sentinel[T]()), "%s grad[%d] = %v, want NaN", call, j,
					grad[j])
			}
			if r == core.ReductionNone {
				assertSameBits(t, call, "loss of the finite rows", []T{loss[0], loss[2]},
					[]T{goodLoss, goodLoss})
				assertSameBits(t, call, "grad of row 0", grad[0:3], goodGrad)
				assertSameBits(t, call, "grad of row 2", grad[6:9], goodGrad)
			}
		}
	}
}

// testHugeEqualLogits: equal logits near the largest finite value describe
// a uniform distribution, so the loss is log 2 and the gradient (0.5, -0.5),
// exactly, whatever the shared value.
func testHugeEqualLogits[T core.Float, L core.Label](t *testing.T) {
	huge := 3e38
	var zero T
	if _, ok := any(zero).(float64); ok {
		huge = 1.7e308
	}
	for _, v := range []float64{huge, -huge, 1e8} {
		x := []T{T(v), T(v)}
		loss, grad := rowAlone[T, L](t, x, 1, core.Options{})
		call := fmt.Sprintf("SparseCrossEntropy(%s [%g, %g], label 1)", typeName[T, L](), v, v)
		assertSameBits(t, call, "loss", []T{loss}, []T{T(math.Ln2)})
		assertSameBits(t, call, "grad", grad, []T{0.5, -0.5})
	}
}

// TestSparseReductionCorrectlyRounded checks that a float64 sum or mean
// equals the exact sum of the per-position losses, rounded once, within one
// unit in the last place. The losses span 16 orders of magnitude (a z-loss
// on a row with logits near 1e8), where a plain running sum loses about
// 1000 units.
func TestSparseReductionCorrectlyRounded(t *testing.T) {
	for _, s := range []core.Shape{{Outer: 3000, Classes: 3, Inner: 1},
		{Outer: 400, Classes: 1000, Inner: 1}} {
		r := newRand(uint64(s.Classes))
		logits := randomLogits[float64](r, s)
		for c := 0; c < s.Classes; c++ {
			logits[c] += 1e8
		}
		labels := randomLabels(r, s.Outer, s.Classes)
		opt := core.Options{ZLoss: 1}

		perPosition := make([]float64, s.Outer)
		require.NoError(t, core.SparseForward(perPosition, logits, labels, nil, s, opt))
		exact := new(big.Float).SetPrec(2200)
		for _, l := range perPosition {
			exact.Add(exact, new(big.Float).SetFloat64(l))
		}
		wantSum, _ := exact.Float64()
		wantMean, _ := exact.Quo(exact, big.NewFloat(float64(s.Outer))).Float64()

		for _, tc := range []struct {
			reduction core.Reduction
			want      float64
		}{{core.ReductionSum, wantSum}, {core.ReductionMean, wantMean}} {
			opt.Reduction = tc.reduction
			loss := make([]float64, 1)
			require.NoError(t, core.SparseForward(loss, logits, labels, nil, s, opt))
			ulp := math.Nextafter(tc.want, math.Inf(1)) - tc.want
			assert.LessOrEqualf(t, math.Abs(loss[0]-tc.want), ulp,
				"SparseForward(f64 %s %s) loss = %v, want %v within 1 ulp", shapeString(s),
				optionsString(opt), loss[0], tc.want)
		}
	}
}
