package core

import "math"

// DenseCrossEntropy computes the softmax cross-entropy of logits against
// dense labels t of the same shape (probabilities, or any finite weights per
// class): the loss into loss, the gradient with respect to the logits into
// grad and the gradient with respect to the labels into gradLabels.
//
// With class weights w (ones when weight is nil), smoothed targets
// u_c = (1-eps)*t_c + eps/C, a_c = w_c*u_c and A = sum_c a_c, the loss of a
// position is
//
//	loss = sum_c a_c*((m - x_c) + log(s)),  s = sum_c exp(x_c - m)
//
// where a term with a_c = 0 is 0 even when x_c = -Inf (0*log 0 = 0). The
// gradient is the exact p_c*A - a_c (p = softmax(x)), also when label rows do
// not sum to 1, and the gradient with respect to t_c is
// (1-eps)*w_c*(log(s) - (x_c - m)) = -(1-eps)*w_c*log p_c; both are scaled by
// the upstream gradient and, for ReductionMean, divided by the denominator.
// With FlagKLDivergence the loss adds sum_c a_c*log u_c, which makes it the
// KL divergence (cross-entropy minus the target entropy).
//
// Buffer lengths and gradOutput follow [SparseCrossEntropy]; labels and
// gradLabels have the length of logits. grad may be logits itself;
// gradLabels must not overlap anything. opt.HasIgnoreIndex must be false, and
// opt.MeanBy must be MeanByPositions or MeanByOuter.
//
// Special cases are:
//
//	t_c = 0 and x_c = -Inf        no contribution, gradient 0 at c
//	t_c > 0 and x_c = -Inf        loss +Inf, finite gradient p*A - a
//	row all -Inf, or NaN/+Inf     loss NaN, gradient row NaN
//	mean over no positions        loss NaN, gradients all 0
//	exp(x_c - m) below T's        p_c counts as 0 in the gradient, also times
//	smallest normal number        an infinite z-loss factor
//	A + 2*z*lse beyond float64    gradient ±Inf where p_c > 0, finite where p_c
//	                              or the upstream gradient is 0
func DenseCrossEntropy[T Float](loss, grad, gradLabels, logits, labels, weight,
	gradOutput []T, shape Shape, opt Options) error {
	p, err := newDensePlan(loss, grad, gradLabels, logits, labels, weight, gradOutput,
		shape, opt)
	if err != nil {
		return err
	}
	p.run(p)
	release(p)
	return nil
}

// densePlan is one checked DenseCrossEntropy call.
type densePlan[T Float] struct {
	plan[T]
	labels []T
}

func newDensePlan[T Float](loss, grad, gradLabels, logits, labels, weight,
	gradOutput []T, shape Shape, opt Options) (*densePlan[T], error) {
	positions, elements, err := shape.check()
	if err != nil {
		return nil, err
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	if opt.HasIgnoreIndex {
		return nil, argumentError("ignore_index %d: dense labels have no ignore index",
			opt.IgnoreIndex)
	}
	switch opt.MeanBy {
	case MeanByPositions, MeanByOuter:
	default:
		return nil, argumentError("mean_by %d: dense labels take only 3 (positions) "+
			"or 2 (outer)", int32(opt.MeanBy))
	}
	// A pooled plan: workers share it, and a new one per call would allocate.
	p := acquire[densePlan[T]]()
	*p = densePlan[T]{labels: labels, plan: plan[T]{loss: loss, grad: grad,
		gradLabels: gradLabels, logits: logits, weight: weight, gradOutput: gradOutput,
		shape: shape, opt: opt, positions: positions}}
	if len(labels) != elements {
		return nil, shapeError("labels has %d elements, want %d like logits",
			len(labels), elements)
	}
	if len(gradLabels) != 0 && len(gradLabels) != elements {
		return nil, shapeError("grad_labels has %d elements, want %d like logits "+
			"(or 0 to skip it)", len(gradLabels), elements)
	}
	if err := p.check(elements); err != nil {
		return nil, err
	}
	gradSpan := spanOf("grad", grad)
	gradSpan.alias = "logits"
	err = checkOverlap(
		[]span{spanOf("loss", loss), gradSpan, spanOf("grad_labels", gradLabels)},
		[]span{spanOf("logits", logits), spanOf("labels", labels),
			spanOf("weight", weight), spanOf("grad_output", gradOutput)})
	if err != nil {
		return nil, err
	}
	p.denom = float64(positions)
	if opt.MeanBy == MeanByOuter {
		p.denom = float64(shape.Outer)
	}
	return p, nil
}

// blocks implements blockRunner.
func (p *densePlan[T]) blocks(first, last, step int, sums []float64) {
	for b := first; b < last; b++ {
		lo := b * step
		sums[b] = p.block(lo, min(lo+step, p.positions))
	}
}

// block processes positions [lo, hi) and returns the sum of their losses.
func (p *densePlan[T]) block(lo, hi int) float64 {
	s := p.shape
	var bufX, bufT, bufGL []T
	if s.Inner > 1 {
		scratch := getScratch[T](3 * s.Classes)
		defer putScratch(scratch)
		c := s.Classes
		bufX, bufT, bufGL = (*scratch)[:c], (*scratch)[c:2*c], (*scratch)[2*c:]
	}
	var sum compensatedSum
	for pos := lo; pos < hi; pos++ {
		x, g := rowViews(p.logits, p.grad, bufX, s, pos)
		t, _ := rowViews(p.labels, nil, bufT, s, pos)
		var gl []T
		if len(p.gradLabels) > 0 {
			_, gl = rowViews(p.gradLabels, p.gradLabels, bufGL, s, pos)
			if s.Inner > 1 {
				gl = bufGL
			}
		}

		l := p.row(x, t, g, gl, p.coefficient(pos))
		if s.Inner > 1 {
			o, i := pos/s.Inner, pos%s.Inner
			if g != nil {
				scatter(p.grad, g, s, o, i)
			}
			if gl != nil {
				scatter(p.gradLabels, gl, s, o, i)
			}
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

// target returns a_c = w_c*u_c, the weighted smoothed target of class c.
func (p *densePlan[T]) target(t []T, c int) float64 {
	eps := p.opt.LabelSmoothing
	u := float64(t[c])
	if eps > 0 {
		u = (1-eps)*u + eps/float64(len(t))
	}
	return p.classWeight(c) * u
}

// row computes the loss of one row and, when g and gl are not nil, coef
// times the gradients with respect to the logits (into g, which may be x)
// and the labels (into gl).
func (p *densePlan[T]) row(x, t, g, gl []T, coef float64) float64 {
	kl := p.opt.Flags&FlagKLDivergence != 0
	m := rowMax(x)
	mf := float64(m)

	// Sums over the classes with nonzero target: A = sum a_c,
	// B = sum a_c*(m - x_c), H = sum a_c*log u_c.
	var sumA, sumB, sumH compensatedSum
	for c, v := range x {
		a := p.target(t, c)
		if a == 0 {
			continue
		}
		sumA.add(a)
		sumB.add(a * (mf - float64(v)))
		if kl {
			sumH.add(a * math.Log(a/p.classWeight(c)))
		}
	}
	a := sumA.value()

	// The labels' gradient reads x, which the exp pass overwrites when g
	// aliases x: then take the sum first without storing.
	var s float64
	if gl != nil && g != nil && &g[0] == &x[0] {
		s = rowExpSum(nil, x, m, rowAddr(x))
		p.labelGradient(gl, x, t, mf, math.Log(s), coef)
		s = rowExpSum(g, x, m, rowAddr(x))
	} else {
		s = rowExpSum(g, x, m, rowAddr(x))
		if gl != nil {
			p.labelGradient(gl, x, t, mf, math.Log(s), coef)
		}
	}
	logS := math.Log(s)
	lse := mf + logS

	loss := sumB.value() + a*logS
	if kl {
		loss += sumH.value()
	}
	if p.opt.ZLoss > 0 {
		loss += p.opt.ZLoss * lse * lse
	}
	if g != nil {
		// z*(2*lse): 2*z overflows for z near the float64 limit. A factor that
		// overflows anyway must not turn exp(x_c - m) = 0 or coef = 0 into NaN.
		f := mulZeroInf(coef, a+p.opt.ZLoss*(2*lse)) / s
		for c, e := range g {
			g[c] = T(mulZeroInf(float64(e), f) - coef*p.target(t, c))
		}
	}
	return loss
}

// labelGradient writes coef*(1-eps)*w_c*(log s - (x_c - m)) into gl, plus
// coef*(1-eps)*w_c*(log u_c + 1) for the KL divergence.
func (p *densePlan[T]) labelGradient(gl, x, t []T, m, logS, coef float64) {
	scale := coef * (1 - p.opt.LabelSmoothing)
	kl := p.opt.Flags&FlagKLDivergence != 0
	for c, v := range x {
		k := scale * p.classWeight(c)
		if k == 0 {
			gl[c] = 0
			continue
		}
		d := logS - (float64(v) - m)
		if kl {
			u := p.target(t, c) / p.classWeight(c)
			d += math.Log(u) + 1
		}
		gl[c] = T(k * d)
	}
}
