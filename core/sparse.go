package core

import (
	"math"
	"runtime"
	"unsafe"
)

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
//	exp(x_c - m) below T's smallest   softmax_c counts as 0 in the gradient, also
//	normal number                     times an infinite z-loss factor
//	2*z*lse beyond float64            gradient ±Inf where softmax_c > 0, finite
//	                                  where softmax_c or the upstream gradient is 0
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
	release(p)
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
	plan[T]
	labels []L
	stream bool // write the gradient with streaming stores (streamGradient)
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
	if opt.Flags != 0 {
		return nil, argumentError("flags %d: no flag applies to integer labels",
			int32(opt.Flags))
	}
	// A pooled plan: workers share it, and a new one per call would allocate.
	p := acquire[sparsePlan[T, L]]()
	*p = sparsePlan[T, L]{labels: labels, plan: plan[T]{loss: loss, grad: grad,
		logits: logits, weight: weight, gradOutput: gradOutput, shape: shape, opt: opt,
		positions: positions}}
	if len(labels) != positions {
		return nil, shapeError("labels has %d elements, want outer %d * inner %d = %d",
			len(labels), shape.Outer, shape.Inner, positions)
	}
	if err := p.check(elements); err != nil {
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
	// Short rows go through the batch kernels, which do not stream.
	p.stream = streamGradient(grad, logits, shape) && !p.smallRows()
	return p, nil
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
	p.plan.run(p)
}

// blocks implements blockRunner. With a streamed gradient, the gradient
// of each row is written while the next row's exponentials are computed,
// across the blocks of the range (see pendingRow).
func (p *sparsePlan[T, L]) blocks(first, last, step int, sums []float64) {
	var w sparseWorker[T]
	c := p.shape.Classes
	if p.stream {
		// Streamed stores wait in this thread's write-combining buffers until
		// the fence at the end, so the goroutine stays on its thread till then.
		runtime.LockOSThread()
		defer fenceAndUnlock()
	}
	switch {
	case p.stream:
		w.scratch = getScratch[T](2 * c)
		w.rows = [2][]T{(*w.scratch)[:c], (*w.scratch)[c:]}
	case p.shape.Inner > 1:
		w.scratch = getScratch[T](c)
		w.rows[0] = *w.scratch
	}
	small := p.smallRows()
	w.batch = small
	for b := first; b < last; b++ {
		lo, hi := b*step, min((b+1)*step, p.positions)
		if small {
			sums[b] = p.smallBlock(lo, hi, &w)
		} else {
			sums[b] = p.block(lo, hi, &w)
		}
	}
	if w.hasPending {
		w.pending.write()
	}
	if w.scratch != nil {
		putScratch(w.scratch)
	}
}

// fenceAndUnlock makes this thread's streamed stores visible to the others
// and lets the goroutine leave its thread again.
func fenceAndUnlock() {
	storeFence()
	runtime.UnlockOSThread()
}

// sparseWorker is the state of one thread's range of blocks.
type sparseWorker[T Float] struct {
	scratch *[]T
	// rows are scratch rows: rows[0] is the gathered row for inner > 1;
	// with a streamed gradient, the exponentials of the current row go to
	// rows[0] while rows[1] may hold those of the pending row.
	rows       [2][]T
	pending    pendingRow[T]
	hasPending bool

	// With batch set (the short-row path), rowGradient leaves a plain
	// scale undone: it sets deferred, and the factor and label element in
	// scale and labelGrad.
	batch, deferred  bool
	scale, labelGrad T
}

// pendingRow is a row whose gradient is g = e*f, then g[y] = gy, with e a
// scratch row of exponentials. Writing it is deferred to the exp pass of
// the next row, which streams it out on the way, so that the stores of one
// row overlap the arithmetic of the next. On float32 4096x32000 logits the
// fused call took 73 ms instead of 88 ms (BenchmarkFusedSparse, one
// thread, AVX-512).
type pendingRow[T Float] struct {
	g, e []T
	f    T
	y    int
	gy   T
}

// write writes the row by itself.
func (r *pendingRow[T]) write() {
	rowScale(r.g, r.e, r.f, rowAddr(r.e), true)
	storeStreamed(r.g, r.y, r.gy)
}

// block processes positions [lo, hi) and returns the sum of their losses.
func (p *sparsePlan[T, L]) block(lo, hi int, w *sparseWorker[T]) float64 {
	s := p.shape
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

		x, g := rowViews(p.logits, p.grad, w.rows[0], s, pos)
		e := g // the exponentials' destination
		if p.stream {
			e = w.rows[0]
		}

		l := p.row(x, g, e, int(y), p.coefficient(pos), nextRow(p.logits, s, pos, p.positions), w)
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

// row computes the loss of one contiguous row x with label y and, when g is
// not nil, coef times its gradient, for g (which may be x). The
// exponentials go to e first: g itself, or a scratch row when the gradient
// is streamed, in which case the gradient may be left pending in w. The
// kernels prefetch from pf, a later row (nextRow), or 0 for none.
func (p *sparsePlan[T, L]) row(x, g, e []T, y int, coef float64, pf uintptr,
	w *sparseWorker[T]) float64 {
	// Everything that reads x must run before the exp pass, which may
	// overwrite x when g aliases it.
	m := rowMax(x)
	var gap float64 // sum_c w[c]*(m - x_c), for the smoothing term
	if p.opt.LabelSmoothing > 0 && len(p.loss) > 0 {
		gap = p.weightedGap(x, float64(m))
	}
	xy := float64(x[y])

	if pf == 0 {
		pf = rowAddr(x)
	}
	var pending *pendingRow[T]
	if w.hasPending {
		pending = &w.pending
	}
	s, logS, rest, split := p.expSum(e, x, y, m, pf, pending)
	if pending != nil {
		storeStreamed(pending.g, pending.y, pending.gy)
		w.hasPending = false
	}
	// Without streaming, the gradient pass prefetches the second half of
	// the row at pf (the exp pass did the first).
	pfHalf := pf + uintptr(min(len(x), chunkElements))*unsafe.Sizeof(x[0])/2
	st := rowSummary{m: float64(m), xy: xy, gap: gap, s: s, logS: logS, rest: rest, split: split}
	return p.finish(g, e, y, coef, st, pfHalf, w)
}

// rowSummary holds the values a row's loss and gradient need beyond its
// exponentials: the max m, the label's logit xy, the smoothing gap, the sum
// s of exp(x - m), its log and, for a split sum (see expSum), rest.
type rowSummary struct {
	m, xy, gap, s, logS, rest float64
	split                     bool
}

// finish returns the loss of a row from its stats and, when g is not nil,
// turns the exponentials e into coef times its gradient (see rowGradient).
func (p *sparsePlan[T, L]) finish(g, e []T, y int, coef float64, st rowSummary, pf uintptr,
	w *sparseWorker[T]) float64 {
	wy := p.classWeight(y)
	eps := p.opt.LabelSmoothing
	c := float64(p.shape.Classes)
	lse := st.m + st.logS

	// The loss is (m - x_y) + log(s), never log(softmax): this keeps log 2
	// for huge equal logits and +Inf (not NaN) for x_y = -Inf.
	var loss float64
	if eps < 1 {
		loss = (1 - eps) * wy * ((st.m - st.xy) + st.logS)
	}
	if eps > 0 {
		loss += eps / c * (st.gap + p.weightSum*st.logS)
	}
	if p.opt.ZLoss > 0 {
		loss += p.opt.ZLoss * lse * lse
	}
	if g != nil {
		p.rowGradient(g, e, y, wy, coef, st.s, lse, st.rest, st.split, pf, w)
	}
	return loss
}

// expSum returns s = sum_c exp(x_c - m) and log(s), storing each exp(x_c - m)
// in e when e is not nil, and prefetching from pf (see rowExpSum). When
// pending is not nil, its gradient row is streamed out on the way; its label
// element is then stored again, by the caller. When the label's logit is the maximum, exp(x_y - m)
// is exactly 1 and the loss is log(1 + rest) with rest the sum over the other
// classes: that sum is then taken apart from the 1 and the log formed with
// log1p, so a confident prediction keeps its tiny loss (for example 2.06e-9
// for float32 logits [0, -20]) instead of rounding 1 + rest to 1.
//
// split reports whether the sum was taken apart, and rest is then the sum
// over the classes other than y.
func (p *sparsePlan[T, L]) expSum(e, x []T, y int, m T, pf uintptr,
	pending *pendingRow[T]) (s, logS, rest float64, split bool) {
	// sum is rowExpSum on x[lo:hi], which streams elements [plo, plo +
	// hi - lo) of the pending row, so that the pieces of a split row
	// stream the whole pending row between them.
	sum := func(lo, hi, plo int, pf uintptr) float64 {
		var d []T
		if e != nil {
			d = e[lo:hi]
		}
		if pending == nil {
			return rowExpSum(d, x[lo:hi], m, pf)
		}
		phi := plo + hi - lo
		return rowExpSumStream(d, x[lo:hi], m, pf, pending.g[plo:phi], pending.e[plo:phi],
			pending.f)
	}
	size := unsafe.Sizeof(x[0])
	n := len(x)
	if x[y] != m || math.IsInf(float64(m), 0) {
		// An infinite maximum makes the row NaN; the plain sum keeps it so.
		s = sum(0, n, 0, pf)
		return s, math.Log(s), 0, false
	}
	// where the first piece stops prefetching (see chunkPrefetch)
	after := pf + uintptr(min(y+1, chunkElements))*size/2
	if pending != nil {
		after = pf + uintptr(min(y+1, chunkElements))*size
	}
	rest = sum(0, y, 0, pf) + sum(y+1, n, y, after)
	sum(y, y+1, n-1, rowAddr(x))
	return 1 + rest, math.Log1p(rest), rest, true
}

// labelGradient returns the gradient at the label when exp(x_y - m) = 1 and
// rest is the sum over the other classes: coef*(a/s - b_y) rewritten as
// coef*((a - b_y) - b_y*rest)/s, which does not cancel when rest is tiny.
func (p *sparsePlan[T, L]) labelGradient(wy, coef, s, lse, rest float64) float64 {
	eps := p.opt.LabelSmoothing
	c := float64(p.shape.Classes)
	by := (1-eps)*wy + eps/c*wy
	d := eps / c * (p.weightSum - wy)
	if p.opt.ZLoss > 0 {
		d += p.opt.ZLoss * (2 * lse)
	}
	return mulZeroInf(coef, d-by*rest) / s
}

// rowGradient turns e = exp(x - m) into coef times the gradient, for g
// (which may be e): coef * (softmax * a - b) with a = (1-eps)*w[y] +
// (eps/C)*sum_c w[c] + 2*z*lse and b_c = (1-eps)*w[y]*[c == y] +
// (eps/C)*w[c]. For a streamed gradient the plain scale is left pending in
// w instead. The kernels prefetch from pf.
func (p *sparsePlan[T, L]) rowGradient(g, e []T, y int, wy, coef, s, lse, rest float64,
	split bool, pf uintptr, w *sparseWorker[T]) {
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
		// z*(2*lse), not (2*z)*lse: 2*z overflows for z near the float64
		// limit, and Inf*0 would make a NaN of lse = 0.
		a += p.opt.ZLoss * (2 * lse)
	}
	// NOTE: a factor beyond float64 gives ±Inf also where the exact product
	// with a float64 softmax value fits (1e-300 times 1e310).
	f := mulZeroInf(coef, a) / s

	// The label element in float64: p_y - 1 cancels, so round only once.
	gy := mulZeroInf(float64(e[y]), f) - coef*(1-eps)*wy
	if eps > 0 {
		gy -= coef * eps / c * wy
	}
	if split {
		gy = p.labelGradient(wy, coef, s, lse, rest)
	}

	switch {
	case eps == 0 && math.Abs(f) <= maxFinite[T]() && w.batch:
		// The short-row path scales a batch of rows at once.
		w.scale, w.labelGrad, w.deferred = T(f), T(gy), true
		return
	case eps == 0 && math.Abs(f) <= maxFinite[T]() && p.stream:
		w.pending = pendingRow[T]{g: g, e: e, f: T(f), y: y, gy: T(gy)}
		w.hasPending = true
		w.rows[0], w.rows[1] = w.rows[1], w.rows[0]
		return
	case eps == 0 && math.Abs(f) <= maxFinite[T]():
		rowScale(g, e, T(f), pf, false)
	default:
		// Element by element in float64: smoothing subtracts a term per
		// class, and a factor beyond T's range (a huge z-loss lse) rounded
		// to T would turn exp(x - m) = 0 into 0*Inf = NaN.
		b := coef * eps / c
		for j, v := range e {
			g[j] = T(mulZeroInf(float64(v), f) - b*p.classWeight(j))
		}
	}
	g[y] = T(gy)
}

// mulZeroInf returns x*y, except that it is 0 (not NaN) when x is 0 and y is
// ±Inf. x is a softmax value counted as 0 or an upstream gradient of 0. y is
// a gradient factor that overflowed (a z-loss term 2*z*lse beyond the
// float64 range), so its exact value is finite and the product is 0. NaN in
// either operand still gives NaN, and so does an infinite x times a zero y.
func mulZeroInf(x, y float64) float64 {
	if x == 0 && math.IsInf(y, 0) {
		return 0
	}
	return x * y
}

// weightedGap returns sum_c w[c]*(m - x_c) in float64. A class of weight 0
// adds nothing, even when its logit is -Inf (0*log 0 = 0).
func (p *sparsePlan[T, L]) weightedGap(x []T, m float64) float64 {
	var sum compensatedSum
	for j, v := range x {
		w := p.classWeight(j)
		if w == 0 {
			continue
		}
		sum.add(w * (m - float64(v)))
	}
	return sum.value()
}
