package core

import "sync"

// Tasks for parallelFor: the blocks of a cross-entropy plan, and the rows of
// Softmax, LogSoftmax and their backward functions.

// blockTask runs the blocks of a plan and keeps each block's loss sum.
type blockTask struct {
	runner   blockRunner
	step     int // positions per block
	perChunk int // blocks per chunk
	sums     *[]float64
}

func (t *blockTask) runChunk(i int) {
	sums := *t.sums
	t.runner.blocks(i*t.perChunk, min((i+1)*t.perChunk, len(sums)), t.step, sums)
}

var sumsPool sync.Pool

// getSums returns a slice of n float64 from a pool; return it with putSums.
func getSums(n int) *[]float64 {
	if p, ok := sumsPool.Get().(*[]float64); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float64, n)
	return &s
}

func putSums(p *[]float64) { sumsPool.Put(p) }

// rowTask runs a row function (applyRow) on every position of a
// Softmax-like call. Strided layouts (inner > 1) are gathered into
// contiguous scratch rows and the output row is scattered back.
type rowTask[T Float] struct {
	op        rowOp
	dst, a, b []T // b is nil for the forward functions
	shape     Shape
	step      int // positions per block
	perChunk  int // blocks per chunk
	positions int
}

// runRows runs op on every position, on up to NumThreads threads. Each
// position is independent, so the results do not depend on the number of
// threads.
func runRows[T Float](op rowOp, dst, a, b []T, s Shape) {
	t := acquire[rowTask[T]]()
	*t = rowTask[T]{op: op, dst: dst, a: a, b: b, shape: s,
		step: blockPositions(s.Classes), positions: s.Outer * s.Inner}
	blocks := (t.positions + t.step - 1) / t.step
	if threads := callThreads(blocks); threads <= 1 {
		t.rows(0, t.positions)
	} else {
		var chunks int
		t.perChunk, chunks = splitBlocks(blocks, threads)
		parallelFor(t, chunks, threads)
	}
	release(t)
}

func (t *rowTask[T]) runChunk(i int) {
	lo := i * t.perChunk * t.step
	t.rows(lo, min(lo+t.perChunk*t.step, t.positions))
}

// rows processes positions [lo, hi).
func (t *rowTask[T]) rows(lo, hi int) {
	s, c := t.shape, t.shape.Classes
	if s.Inner == 1 {
		for p := lo; p < hi; p++ {
			var b []T
			if t.b != nil {
				b = t.b[p*c : (p+1)*c]
			}
			applyRow(t.op, t.dst[p*c:(p+1)*c], t.a[p*c:(p+1)*c], b)
		}
		return
	}
	if lo >= hi {
		return
	}

	n := c
	if t.b != nil {
		n = 3 * c
	}
	scratch := getScratch[T](n)
	defer putScratch(scratch)
	buf := *scratch
	for p := lo; p < hi; p++ {
		o, i := p/s.Inner, p%s.Inner
		if t.b == nil {
			row := buf[:c]
			gather(row, t.a, s, o, i)
			applyRow(t.op, row, row, nil)
			scatter(t.dst, row, s, o, i)
			continue
		}
		ra, rb, rd := buf[:c], buf[c:2*c], buf[2*c:]
		gather(ra, t.a, s, o, i)
		gather(rb, t.b, s, o, i)
		applyRow(t.op, rd, ra, rb)
		scatter(t.dst, rd, s, o, i)
	}
}
