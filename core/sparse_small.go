package core

import "math"

// The short-row path of SparseCrossEntropy. For a few classes per row, the
// row-by-row path spends most of its time in calls rather than arithmetic.
// This path computes the stats of a batch of rows with one call of
// rowStats32 or rowStats64, and scales the batch's gradient rows with one
// call of scaleRows32 or scaleRows64. Both return the bits of the row
// primitives, and each row finishes with the same code (finish), so the
// results are the bits of the row-by-row path.

// smallBatchRows is the number of rows of one batch.
const smallBatchRows = 128

// smallRowsOn is true except in tests that compare with the row-by-row
// path.
var smallRowsOn = true

// smallRows reports whether the short-row path handles the call. Rows must
// be contiguous (inner 1) with at most smallRowMax32 (float32) or
// smallRowMax64 (float64) classes. The gradient must not overwrite the
// logits, because the loss reads them after the batch kernel has written
// the exponentials. Such a call never streams its gradient (newSparsePlan).
func (p *sparsePlan[T, L]) smallRows() bool {
	var zero T
	limit := smallRowMax32
	if _, ok := any(zero).(float64); ok {
		limit = smallRowMax64
	}
	return smallRowsOn && p.shape.Inner == 1 && p.shape.Classes <= limit &&
		(len(p.grad) == 0 || rowAddr(p.grad) != rowAddr(p.logits))
}

// smallBatch holds the per-row values of one batch. It comes from a pool
// rather than the stack, because zeroing it on every call cost as much as
// the arithmetic of 32 rows of 10 classes. Every element is written before
// it is read.
type smallBatch[T Float] struct {
	ys      [smallBatchRows]int32
	m       [smallBatchRows]T
	s, rest [smallBatchRows]float64
	split   [smallBatchRows]bool
	scale   [smallBatchRows]T // the factor of row i's exponentials
	label   [smallBatchRows]T // row i's label element, when fix[i]
	fix     [smallBatchRows]bool
}

// smallBlock is block for calls that smallRows accepts.
func (p *sparsePlan[T, L]) smallBlock(lo, hi int, w *sparseWorker[T]) float64 {
	c := p.shape.Classes
	batch := poolOf[smallBatch[T]]().Get().(*smallBatch[T])
	defer poolOf[smallBatch[T]]().Put(batch)
	ys, m, s, rest, split := &batch.ys, &batch.m, &batch.s, &batch.rest, &batch.split
	scale, label, fix := &batch.scale, &batch.label, &batch.fix
	plain := p.opt.LabelSmoothing == 0 && p.opt.ZLoss == 0 && len(p.weight) == 0
	var sum compensatedSum
	for first := lo; first < hi; first += smallBatchRows {
		n := min(smallBatchRows, hi-first)
		for i := range n {
			y := int64(p.labels[first+i])
			if p.ignored(y) {
				y = 0 // any class: the row's results are replaced below
			}
			ys[i] = int32(y)
		}
		x := p.logits[first*c : (first+n)*c]
		var g []T
		if len(p.grad) > 0 {
			g = p.grad[first*c : (first+n)*c]
		}
		batchStats(g, x, c, ys[:n], m[:n], s[:n], rest[:n], split[:n])

		for i := range n {
			pos := first + i
			if p.ignored(int64(p.labels[pos])) {
				if p.opt.Reduction == ReductionNone && len(p.loss) > 0 {
					p.loss[pos] = 0
				}
				scale[i] = 0 // the row is cleared after the scale
				continue
			}
			y := int(ys[i])
			xr := x[i*c : (i+1)*c]
			var gr []T
			if g != nil {
				gr = g[i*c : (i+1)*c]
			}
			if plain {
				// finish and rowGradient for smoothing 0, no z-loss and no
				// weights, their operations in the same order: the factors
				// of 1 and the terms of 0 they drop change no bits.
				coef := p.coefficient(pos)
				var logS float64
				if split[i] {
					logS = math.Log1p(rest[i])
				} else {
					logS = math.Log(s[i])
				}
				// The test does not depend on gr, so that a row takes the
				// same path with and without a gradient, and a NaN loss
				// has the same bits in both.
				f := coef / s[i]
				if math.Abs(f) <= maxFinite[T]() {
					if gr != nil {
						gy := float64(gr[y])*f - coef
						if split[i] {
							gy = coef * (0 - rest[i]) / s[i]
						}
						scale[i], label[i], fix[i] = T(f), T(gy), true
					}
					l := (float64(m[i]) - float64(xr[y])) + logS
					if p.opt.Reduction == ReductionNone {
						if len(p.loss) > 0 {
							p.loss[pos] = T(l)
						}
					} else {
						sum.add(l)
					}
					continue
				}
			}
			st := rowSummary{m: float64(m[i]), xy: float64(xr[y]), s: s[i], rest: rest[i],
				split: split[i]}
			if st.split {
				st.logS = math.Log1p(st.rest)
			} else {
				st.logS = math.Log(st.s)
			}
			if p.opt.LabelSmoothing > 0 && len(p.loss) > 0 {
				st.gap = p.weightedGap(xr, st.m)
			}
			w.deferred = false
			l := p.finish(gr, gr, y, p.coefficient(pos), st, rowAddr(xr), w)
			// Unless deferred, rowGradient wrote the row, and v*1 is v.
			scale[i], fix[i] = 1, w.deferred
			if w.deferred {
				scale[i], label[i] = w.scale, w.labelGrad
			}
			if p.opt.Reduction == ReductionNone {
				if len(p.loss) > 0 {
					p.loss[pos] = T(l)
				}
			} else {
				sum.add(l)
			}
		}

		if g == nil {
			continue
		}
		batchScale(g, g, c, scale[:n])
		for i := range n {
			gr := g[i*c : (i+1)*c]
			switch {
			case p.ignored(int64(p.labels[first+i])):
				clear(gr)
			case fix[i]:
				gr[ys[i]] = label[i]
			}
		}
	}
	return sum.value()
}

// batchStats is rowStats32 or rowStats64.
func batchStats[T Float](dst, x []T, c int, ys []int32, m []T, s, rest []float64,
	split []bool) {
	switch xs := any(x).(type) {
	case []float32:
		d, _ := any(dst).([]float32)
		rowStats32(d, xs, c, ys, any(m).([]float32), s, rest, split)
	case []float64:
		d, _ := any(dst).([]float64)
		rowStats64(d, xs, c, ys, any(m).([]float64), s, rest, split)
	}
}

// batchScale is scaleRows32 or scaleRows64.
func batchScale[T Float](dst, src []T, c int, f []T) {
	switch d := any(dst).(type) {
	case []float32:
		scaleRows32(d, any(src).([]float32), c, any(f).([]float32))
	case []float64:
		scaleRows64(d, any(src).([]float64), c, any(f).([]float64))
	}
}
