package core

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestExactSum compares exactSum with a big.Float sum rounded once, on sums
// that cancel at every scale, where a compensated sum loses the small terms.
func TestExactSum(t *testing.T) {
	cases := [][]float64{
		{1e300, 1e30, 1, -1e300, -1e30},
		{1, 1e100, 1, -1e100},
		{0.1, 0.2, 0.3, -0.6},
		{math.MaxFloat64, -math.MaxFloat64, 0x1p-1074},
		{1, 0x1p-53, 0x1p-106}, // a tie broken by the last term
		{1, 0x1p-53, -0x1p-106},
		{},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var xs []float64
		for range 1 + r.IntN(30) {
			v := math.Ldexp(r.Float64()-0.5, r.IntN(600)-300)
			xs = append(xs, v, -v*(1+r.Float64()*0x1p-40))
		}
		cases = append(cases, xs)
	}
	for _, xs := range cases {
		exact := new(big.Float).SetPrec(4096)
		for _, v := range xs {
			exact.Add(exact, big.NewFloat(v))
		}
		want, _ := exact.Float64()
		if got := exactSum(xs); math.Float64bits(got) != math.Float64bits(want) && got != want {
			t.Errorf("exactSum(%v) = %v, want %v", xs, got, want)
		}
	}
	if got := exactSum([]float64{1, math.Inf(1)}); !math.IsInf(got, 1) {
		t.Errorf("exactSum with +Inf = %v, want +Inf", got)
	}
	many := []float64{math.Inf(-1)}
	for i := range 100 {
		many = append(many, float64(i)-50.5)
	}
	if got := exactSum(many); !math.IsInf(got, -1) {
		t.Errorf("exactSum(-Inf and 100 finite values) = %v, want -Inf", got)
	}
	if got := exactSum([]float64{math.Inf(1), math.Inf(-1)}); !math.IsNaN(got) {
		t.Errorf("exactSum with both infinities = %v, want NaN", got)
	}
}

func TestLogSoftmaxBackwardCancellingGradient(t *testing.T) {
	inf := math.Inf(1)
	y := []float64{inf, 0, 0, 0, 0}
	dy := []float64{1e300, 1e30, 1, -1e300, -1e30}
	dx := make([]float64, 5)
	logSoftmaxBackwardRow(dx, y, dy)
	if !math.IsInf(dx[0], -1) {
		t.Errorf("dx[0] = %v, want -Inf (1e300 - Inf*1)", dx[0])
	}
}
