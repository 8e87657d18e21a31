package core

import "math"

// SparseCrossEntropy computes the softmax cross-entropy of logits against
// integer labels: the loss into loss and the gradient with respect to the
// logits into grad, in one pass over the logits.
//
// logits has shape.Outer*shape.Classes*shape.Inner elements; labels has one
// label per position (Outer*Inner). For a kept position with label y, class
// weights w (all ones when weight is nil) and m = max_c x_c,
//
//	loss = w[y] * ((m - x_y) + log(sum_c exp(x_c - m)))
//
// plus the label smoothing and z-loss terms described in [Options]. The
// gradient is w[y]*(softmax(x) - onehot(y)) times the upstream gradient,
// divided by the denominator when opt.Reduction is ReductionMean.
//
// loss has Outer*Inner elements for ReductionNone and 1 otherwise; pass nil
// to skip it. grad has the length of logits; pass nil to skip it, or logits
// itself to overwrite the logits with their gradient. gradOutput is the
// upstream gradient: nil (ones), 1 element for ReductionSum and
// ReductionMean, or Outer*Inner elements for ReductionNone. weight is nil or
// holds Classes finite values >= 0.
//
// Special cases are:
//
//	ignored position                  loss 0, gradient 0, whatever its logits
//	mean with denominator 0           loss NaN, gradient all 0
//	sum over no positions             loss 0
//	x_y = -Inf, other logits finite   loss +Inf, gradient softmax - onehot
//	row all -Inf, or holding NaN/+Inf loss NaN, gradient row NaN
//
// On error nothing is written; the error wraps ErrLabelOutOfRange (as a
// *LabelError), ErrInvalidShape, ErrInvalidArgument or ErrOverlap.
func SparseCrossEntropy[T Float, L Label](loss, grad, logits []T, labels []L,
	weight, gradOutput []T, shape Shape, opt Options) error {
	p, err := newSparsePlan(loss, grad, logits, labels, weight, gradOutput, shape, opt)
	if err != nil {
		return err
	}
	p.run()
	return nil
}

// SparseForward computes the loss only; see [SparseCrossEntropy].
func SparseForward[T Float, L Label](loss, logits []T, labels []L, weight []T,
	shape Shape, opt Options) error {
	return SparseCrossEntropy(loss, nil, logits, labels, weight, nil, shape, opt)
}

// SparseBackward computes the gradient with respect to the logits only; see
// [SparseCrossEntropy].
func SparseBackward[T Float, L Label](grad, logits []T, labels []L,
	weight, gradOutput []T, shape Shape, opt Options) error {
	return SparseCrossEntropy(nil, grad, logits, labels, weight, gradOutput, shape, opt)
}

// sparsePlan is one checked SparseCrossEntropy call.
type sparsePlan[T Float, L Label] struct {
	loss, grad, logits []T
	labels             []L
	weight, gradOutput []T
	shape              Shape
	opt                Options
	positions          int
	weightSum          float64 // sum_c w[c], or Classes without weights
	denom              float64 // the mean's denominator
	upstream           float64 // gradient scale for sum and mean
}

func newSparsePlan[T Float, L Label](loss, grad, logits []T, labels []L,
	weight, gradOutput []T, shape Shape, opt Options) (*sparsePlan[T, L], error) {
	positions, elements, err := shape.check()
	if err != nil {
		return nil, err
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	p := &sparsePlan[T, L]{loss: loss, grad: grad, logits: logits, labels: labels,
		weight: weight, gradOutput: gradOutput, shape: shape, opt: opt, positions: positions}
	if err := p.checkLengths(elements); err != nil {
		return nil, err
	}
	if p.weightSum, err = checkWeight(weight, shape.Classes); err != nil {
		return nil, err
	}
	gradSpan := spanOf("grad", grad)
	gradSpan.alias = "logits"
	err = checkOverlap(
		[]span{spanOf("loss", loss), gradSpan},
		[]span{spanOf("logits", logits), spanOf("labels", labels),
			spanOf("weight", weight), spanOf("grad_output", gradOutput)})
	if err != nil {
		return nil, err
	}
	if err := p.scanLabels(); err != nil {
		return nil, err
	}
	p.upstream = 1
	if len(gradOutput) > 0 && opt.Reduction != ReductionNone {
		p.upstream = float64(gradOutput[0])
	}
	return p, nil
}

func (p *sparsePlan[T, L]) checkLengths(elements int) error {
	if len(p.logits) != elements {
		return shapeError("logits has %d elements, want outer %d * classes %d * inner %d = %d",
			len(p.logits), p.shape.Outer, p.shape.Classes, p.shape.Inner, elements)
	}
	if len(p.labels) != p.positions {
		return shapeError("labels has %d elements, want outer %d * inner %d = %d",
			len(p.labels), p.shape.Outer, p.shape.Inner, p.positions)
	}
	perPosition := p.opt.Reduction == ReductionNone
	want := 1
	if perPosition {
		want = p.positions
	}
	if len(p.loss) != 0 && len(p.loss) != want {
		return shapeError("loss has %d elements, want %d for reduction %v (or 0 to skip it)",
			len(p.loss), want, p.opt.Reduction)
	}
	if len(p.gradOutput) != 0 && len(p.gradOutput) != want {
		return shapeError("grad_output has %d elements, want %d for reduction %v "+
			"(or 0 for ones)", len(p.gradOutput), want, p.opt.Reduction)
	}
	if len(p.grad) != 0 && len(p.grad) != elements {
		return shapeError("grad has %d elements, want %d like logits (or 0 to skip it)",
			len(p.grad), elements)
	}
	return nil
}

// checkWeight checks class weights and returns their sum (classes when nil).
func checkWeight[T Float](weight []T, classes int) (float64, error) {
	if len(weight) == 0 {
		return float64(classes), nil
	}
	if len(weight) != classes {
		return 0, shapeError("weight has %d elements, want one per class (%d)",
			len(weight), classes)
	}
	var sum compensatedSum
	for c, w := range weight {
		if !(w >= 0 && float64(w) <= math.MaxFloat64) {
			return 0, argumentError("weight[%d] = %v is not a finite value >= 0", c, w)
		}
		sum.add(float64(w))
	}
	return sum.value(), nil
}

// scanLabels checks every label and computes the mean's denominator.
func (p *sparsePlan[T, L]) scanLabels() error {
	c := int64(p.shape.Classes)
	var weightSum compensatedSum
	kept := 0
	for i, label := range p.labels {
		y := int64(label)
		if p.ignored(y) {
			continue
		}
		if y < 0 || y >= c {
			e := &LabelError{Position: int64(i), Label: y, Classes: p.shape.Classes}
			if p.opt.HasIgnoreIndex {
				ignore := p.opt.IgnoreIndex
				e.Ignore = &ignore
			}
			return e
		}
		kept++
		if len(p.weight) > 0 {
			weightSum.add(float64(p.weight[y]))
		}
	}
	switch p.opt.MeanBy {
	case MeanByWeightSum:
		p.denom = float64(kept)
		if len(p.weight) > 0 {
			p.denom = weightSum.value()
		}
	case MeanByValidCount:
		p.denom = float64(kept)
	case MeanByOuter:
		p.denom = float64(p.shape.Outer)
	case MeanByPositions:
		p.denom = float64(p.positions)
	}
	return nil
}

func (p *sparsePlan[T, L]) ignored(y int64) bool {
	return p.opt.HasIgnoreIndex && y == p.opt.IgnoreIndex
}

func (p *sparsePlan[T, L]) run() {
	mean := p.opt.Reduction == ReductionMean
	if mean && p.denom == 0 {
		// 0/0: nothing contributes to the mean, so the gradient is zero.
		if len(p.loss) > 0 {
			p.loss[0] = T(math.NaN())
		}
		clear(p.grad)
		return
	}
	if len(p.loss) == 0 && len(p.grad) == 0 {
		return
	}

	step := blockPositions(p.shape.Classes)
	var total compensatedSum
	for lo := 0; lo < p.positions; lo += step {
		total.add(p.block(lo, min(lo+step, p.positions)))
	}

	if p.opt.Reduction == ReductionNone || len(p.loss) == 0 {
		return
	}
	if mean {
		p.loss[0] = T(total.value() / p.denom)
	} else {
		p.loss[0] = T(total.value())
	}
}

// block processes positions [lo, hi) and returns the sum of their losses.
func (p *sparsePlan[T, L]) block(lo, hi int) float64 {
	s := p.shape
	var scratch *[]T
	if s.Inner > 1 {
		scratch = getScratch[T](s.Classes)
		defer putScratch(scratch)
	}
	var sum compensatedSum
	for pos := lo; pos < hi; pos++ {
		y := int64(p.labels[pos])
		if p.ignored(y) {
			if p.opt.Reduction == ReductionNone && len(p.loss) > 0 {
				p.loss[pos] = 0
			}
			if len(p.grad) > 0 {
				zeroPosition(p.grad, s, pos)
			}
			continue
		}

		var x, g []T
		if s.Inner == 1 {
			x = p.logits[pos*s.Classes : (pos+1)*s.Classes]
			if len(p.grad) > 0 {
				g = p.grad[pos*s.Classes : (pos+1)*s.Classes]
			}
		} else {
			x = *scratch
			gather(x, p.logits, s, pos/s.Inner, pos%s.Inner)
			if len(p.grad) > 0 {
				g = x
			}
		}

		l := p.row(x, g, int(y), p.coefficient(pos))
		if s.Inner > 1 && g != nil {
			scatter(p.grad, g, s, pos/s.Inner, pos%s.Inner)
		}
		if p.opt.Reduction == ReductionNone {
			if len(p.loss) > 0 {
				p.loss[pos] = T(l)
			}
		} else {
			sum.add(l)
		}
	}
	return sum.value()
}

// coefficient returns the factor applied to the gradient of position pos.
func (p *sparsePlan[T, L]) coefficient(pos int) float64 {
	switch p.opt.Reduction {
	case ReductionNone:
		if len(p.gradOutput) > 0 {
			return float64(p.gradOutput[pos])
		}
		return 1
	case ReductionMean:
		return p.upstream / p.denom
	}
	return p.upstream
}

// row computes the loss of one contiguous row x with label y and, when g is
// not nil, writes coef times its gradient into g (which may be x).
func (p *sparsePlan[T, L]) row(x, g []T, y int, coef float64) float64 {
	wy := 1.0
	if len(p.weight) > 0 {
		wy = float64(p.weight[y])
	}
	eps := p.opt.LabelSmoothing
	c := float64(len(x))

	// Everything that reads x must run before the exp pass, which may
	// overwrite x when g aliases it.
	m := rowMax(x)
	mf, xy := float64(m), float64(x[y])
	var gap float64 // sum_c w[c]*(m - x_c), for the smoothing term
	if eps > 0 && len(p.loss) > 0 {
		gap = p.weightedGap(x, mf)
	}

	s := rowExpSum(g, x, m)
	logS := math.Log(s)
	lse := mf + logS

	// The loss is (m - x_y) + log(s), never log(softmax): this keeps log 2
	// for huge equal logits and +Inf (not NaN) for x_y = -Inf.
	var loss float64
	if eps < 1 {
		loss = (1 - eps) * wy * ((mf - xy) + logS)
	}
	if eps > 0 {
		loss += eps / c * (gap + p.weightSum*logS)
	}
	if p.opt.ZLoss > 0 {
		loss += p.opt.ZLoss * lse * lse
	}
	if g != nil {
		p.rowGradient(g, y, wy, coef, s, lse)
	}
	return loss
}

// rowGradient turns g = exp(x - m) into coef times the gradient:
// coef * (softmax * a - b) with a = (1-eps)*w[y] + (eps/C)*sum_c w[c] +
// 2*z*lse and b_c = (1-eps)*w[y]*[c == y] + (eps/C)*w[c].
func (p *sparsePlan[T, L]) rowGradient(g []T, y int, wy, coef, s, lse float64) {
	eps := p.opt.LabelSmoothing
	c := float64(len(g))
	a := 0.0
	if eps < 1 {
		a += (1 - eps) * wy
	}
	if eps > 0 {
		a += eps / c * p.weightSum
	}
	if p.opt.ZLoss > 0 {
		a += 2 * p.opt.ZLoss * lse
	}
	f := coef * a / s
	ey := float64(g[y])

	if eps == 0 {
		rowScale(g, T(f))
	} else {
		b := coef * eps / c
		for j, e := range g {
			w := 1.0
			if len(p.weight) > 0 {
				w = float64(p.weight[j])
			}
			g[j] = T(float64(e)*f - b*w)
		}
	}
	// The label element in float64: p_y - 1 cancels, so round only once.
	gy := ey*f - coef*(1-eps)*wy
	if eps > 0 {
		w := 1.0
		if len(p.weight) > 0 {
			w = float64(p.weight[y])
		}
		gy -= coef * eps / c * w
	}
	g[y] = T(gy)
}

// weightedGap returns sum_c w[c]*(m - x_c) in float64. A class of weight 0
// adds nothing, even when its logit is -Inf (0*log 0 = 0).
func (p *sparsePlan[T, L]) weightedGap(x []T, m float64) float64 {
	var sum compensatedSum
	for j, v := range x {
		d := m - float64(v)
		if len(p.weight) > 0 {
			w := float64(p.weight[j])
			if w == 0 {
				continue
			}
			d *= w
		}
		sum.add(d)
	}
	return sum.value()
}
