package core_test

import (
	"math"
	"math/big"

	"github.com/softmaxce/softmaxce/core"
)

// This file holds an independent float64 reference for every function of
// the package, written from the formulas with direct loops over
// (outer, class, inner) indices. It shares no code with the kernels: no
// partial sums, no compensated sums, no row gathering.
//
// Each reference also returns a scale per output element: the size of the
// terms that form it. Rounding is proportional to those terms, not to the
// result, which can be 0 after cancellation (for example p_y - 1 for a
// confident row), so tolerances are relative to the scale. Differences of
// logits and of lse carry a rounding error relative to the magnitude of
// the row (refMagnitude), and exp and log pass it on, so terms built from
// them count that magnitude times.

// refIndex returns the flat index of element (o, c, i) of shape s.
func refIndex(s core.Shape, o, c, i int) int {
	return (o*s.Classes+c)*s.Inner + i
}

// refLogSumExp returns log(sum_c exp(x_c)) over the class axis of position
// (o, i), shifted by the maximum so that no exponential overflows.
func refLogSumExp(x []float64, s core.Shape, o, i int) float64 {
	m := math.Inf(-1)
	for c := 0; c < s.Classes; c++ {
		m = math.Max(m, x[refIndex(s, o, c, i)])
	}
	sum := 0.0
	for c := 0; c < s.Classes; c++ {
		sum += math.Exp(x[refIndex(s, o, c, i)] - m)
	}
	return m + math.Log(sum)
}

// refMagnitude returns 1 + |lse| + max_c |x_c| over the class axis of
// position (o, i).
func refMagnitude(x []float64, s core.Shape, o, i int, lse float64) float64 {
	largest := 0.0
	for c := 0; c < s.Classes; c++ {
		largest = math.Max(largest, math.Abs(x[refIndex(s, o, c, i)]))
	}
	return 1 + math.Abs(lse) + largest
}

// refSparseResult is the reference output of one cross-entropy call.
type refSparseResult struct {
	loss, lossScale []float64 // Outer*Inner values for ReductionNone, else 1
	grad, gradScale []float64 // like the logits
}

// refSparse computes the cross-entropy loss and its gradient from the
// definitions: for a kept position with label y, class weights w (ones when
// nil), W = sum_c w_c, smoothing eps and z-loss coefficient z,
//
//	-log p_c = lse - x_c
//	loss     = (1-eps) w_y (-log p_y) + (eps/C) sum_c w_c (-log p_c) + z lse^2
//	dloss/dx_j = (1-eps) w_y (p_j - [j=y]) + (eps/C) (W p_j - w_j) + 2 z lse p_j
//
// A class with w_c = 0 adds nothing to the smoothing sum (0 log 0 = 0).
// The gradient is scaled by grad_output (per position for ReductionNone,
// the single value otherwise) and divided by the mean's denominator.
func refSparse(x []float64, labels []int64, weight, gradOutput []float64, s core.Shape,
	opt core.Options) refSparseResult {
	positions := s.Outer * s.Inner
	w := func(c int) float64 {
		if weight == nil {
			return 1
		}
		return weight[c]
	}
	isKept := func(p int) bool {
		return !(opt.HasIgnoreIndex && labels[p] == opt.IgnoreIndex)
	}

	// denominator of the mean
	totalWeight, keptCount := newExactSum(), 0
	for p := 0; p < positions; p++ {
		if isKept(p) {
			totalWeight.add(w(int(labels[p])))
			keptCount++
		}
	}
	var denom float64
	switch opt.MeanBy {
	case core.MeanByWeightSum:
		denom = totalWeight.value()
	case core.MeanByValidCount:
		denom = float64(keptCount)
	case core.MeanByOuter:
		denom = float64(s.Outer)
	case core.MeanByPositions:
		denom = float64(positions)
	}
	allWeights := 0.0
	for c := 0; c < s.Classes; c++ {
		allWeights += w(c)
	}

	r := refSparseResult{
		grad:      make([]float64, len(x)),
		gradScale: make([]float64, len(x)),
	}
	if opt.Reduction == core.ReductionNone {
		r.loss = make([]float64, positions)
		r.lossScale = make([]float64, positions)
	} else {
		r.loss = make([]float64, 1)
		r.lossScale = make([]float64, 1)
	}
	mean := opt.Reduction == core.ReductionMean
	if mean && denom == 0 {
		r.loss[0] = math.NaN()
		return r
	}

	eps, z, classes := opt.LabelSmoothing, opt.ZLoss, float64(s.Classes)
	total, totalScale := newExactSum(), newExactSum()
	for o := 0; o < s.Outer; o++ {
		for i := 0; i < s.Inner; i++ {
			p := o*s.Inner + i
			if !isKept(p) {
				continue
			}
			y := int(labels[p])
			lse := refLogSumExp(x, s, o, i)
			magnitude := refMagnitude(x, s, o, i, lse)

			// loss of the position
			loss := 0.0
			if eps < 1 {
				loss += (1 - eps) * w(y) * (lse - x[refIndex(s, o, y, i)])
			}
			if eps > 0 {
				smooth := 0.0
				for c := 0; c < s.Classes; c++ {
					if w(c) != 0 {
						smooth += w(c) * (lse - x[refIndex(s, o, c, i)])
					}
				}
				loss += eps / classes * smooth
			}
			loss += z * lse * lse
			// size of the terms that multiply p_j in the gradient
			a := (1-eps)*w(y) + eps/classes*allWeights + 2*z*math.Abs(lse)

			if opt.Reduction == core.ReductionNone {
				r.loss[p] = loss
				r.lossScale[p] = loss + a*magnitude
			} else {
				total.add(loss)
				totalScale.add(loss + a*magnitude)
			}

			// gradient of the position
			coef := 1.0
			switch {
			case opt.Reduction == core.ReductionNone && gradOutput != nil:
				coef = gradOutput[p]
			case opt.Reduction != core.ReductionNone && gradOutput != nil:
				coef = gradOutput[0]
			}
			if mean {
				coef /= denom
			}
			for j := 0; j < s.Classes; j++ {
				k := refIndex(s, o, j, i)
				pj := math.Exp(x[k] - lse)
				onehot := 0.0
				if j == y {
					onehot = 1
				}
				g := (1-eps)*w(y)*(pj-onehot) + eps/classes*(allWeights*pj-w(j)) +
					2*z*lse*pj
				r.grad[k] = coef * g
				r.gradScale[k] = math.Abs(coef) * (pj*a*magnitude + (1-eps)*w(y)*onehot +
					eps/classes*w(j))
			}
		}
	}
	if opt.Reduction != core.ReductionNone {
		r.loss[0], r.lossScale[0] = total.value(), totalScale.value()
		if mean {
			r.loss[0] /= denom
			r.lossScale[0] /= math.Abs(denom)
		}
	}
	return r
}

// exactSum adds float64 values without rounding, so that reductions over
// many positions in the reference carry no error of their own. Every sum
// here stays far inside the 2200 bits of precision that would be needed
// for values spanning the whole float64 range.
type exactSum struct{ sum *big.Float }

func newExactSum() exactSum {
	return exactSum{new(big.Float).SetPrec(2200)}
}

func (e exactSum) add(v float64) {
	e.sum.Add(e.sum, new(big.Float).SetFloat64(v))
}

// value returns the sum rounded to float64.
func (e exactSum) value() float64 {
	v, _ := e.sum.Float64()
	return v
}

// refSoftmax returns softmax along the class axis and the scale of each
// element.
func refSoftmax(x []float64, s core.Shape) (y, scale []float64) {
	y = make([]float64, len(x))
	scale = make([]float64, len(x))
	for o := 0; o < s.Outer; o++ {
		for i := 0; i < s.Inner; i++ {
			lse := refLogSumExp(x, s, o, i)
			magnitude := refMagnitude(x, s, o, i, lse)
			for c := 0; c < s.Classes; c++ {
				k := refIndex(s, o, c, i)
				y[k] = math.Exp(x[k] - lse)
				scale[k] = y[k] * magnitude
			}
		}
	}
	return y, scale
}

// refLogSoftmax returns log-softmax along the class axis and the scale of
// each element: |x_c| + |lse|, the terms subtracted to form it.
func refLogSoftmax(x []float64, s core.Shape) (y, scale []float64) {
	y = make([]float64, len(x))
	scale = make([]float64, len(x))
	for o := 0; o < s.Outer; o++ {
		for i := 0; i < s.Inner; i++ {
			lse := refLogSumExp(x, s, o, i)
			for c := 0; c < s.Classes; c++ {
				k := refIndex(s, o, c, i)
				y[k] = x[k] - lse
				scale[k] = math.Abs(x[k]) + math.Abs(lse)
			}
		}
	}
	return y, scale
}

// refSoftmaxBackward returns dx_j = y_j (dy_j - sum_c dy_c y_c) and the
// scale of each element.
func refSoftmaxBackward(y, dy []float64, s core.Shape) (dx, scale []float64) {
	dx = make([]float64, len(y))
	scale = make([]float64, len(y))
	for o := 0; o < s.Outer; o++ {
		for i := 0; i < s.Inner; i++ {
			dot, absDot := 0.0, 0.0
			for c := 0; c < s.Classes; c++ {
				k := refIndex(s, o, c, i)
				dot += dy[k] * y[k]
				absDot += math.Abs(dy[k] * y[k])
			}
			for c := 0; c < s.Classes; c++ {
				k := refIndex(s, o, c, i)
				dx[k] = y[k] * (dy[k] - dot)
				scale[k] = math.Abs(y[k]) * (math.Abs(dy[k]) + absDot)
			}
		}
	}
	return dx, scale
}

// refLogSoftmaxBackward returns dx_j = dy_j - exp(y_j) sum_c dy_c and the
// scale of each element.
func refLogSoftmaxBackward(y, dy []float64, s core.Shape) (dx, scale []float64) {
	dx = make([]float64, len(y))
	scale = make([]float64, len(y))
	for o := 0; o < s.Outer; o++ {
		for i := 0; i < s.Inner; i++ {
			sum, absSum := 0.0, 0.0
			for c := 0; c < s.Classes; c++ {
				k := refIndex(s, o, c, i)
				sum += dy[k]
				absSum += math.Abs(dy[k])
			}
			for c := 0; c < s.Classes; c++ {
				k := refIndex(s, o, c, i)
				dx[k] = dy[k] - math.Exp(y[k])*sum
				scale[k] = math.Abs(dy[k]) + math.Exp(y[k])*absSum
			}
		}
	}
	return dx, scale
}
