package core

import (
	"math"
	"unsafe"
)

// plan holds the checked arguments shared by the cross-entropy calls.
type plan[T Float] struct {
	loss, grad, logits []T
	gradLabels         []T // dense labels only
	weight, gradOutput []T
	shape              Shape
	opt                Options
	positions          int
	weightSum          float64 // sum_c w[c], or Classes without weights
	denom              float64 // the mean's denominator
	upstream           float64 // gradient scale for sum and mean
}

// check validates the buffer lengths and the weights.
func (p *plan[T]) check(elements int) error {
	if len(p.logits) != elements {
		return shapeError("logits has %d elements, want outer %d * classes %d * inner %d = %d",
			len(p.logits), p.shape.Outer, p.shape.Classes, p.shape.Inner, elements)
	}
	want := 1
	if p.opt.Reduction == ReductionNone {
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
	var err error
	if p.weightSum, err = checkWeight(p.weight, p.shape.Classes); err != nil {
		return err
	}
	p.upstream = 1
	if len(p.gradOutput) > 0 && p.opt.Reduction != ReductionNone {
		p.upstream = float64(p.gradOutput[0])
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

// maxFinite returns the largest finite value of T.
func maxFinite[T Float]() float64 {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return math.MaxFloat32
	}
	return math.MaxFloat64
}

// classWeight returns w[c], or 1 without weights.
func (p *plan[T]) classWeight(c int) float64 {
	if len(p.weight) == 0 {
		return 1
	}
	return float64(p.weight[c])
}

// coefficient returns the factor applied to the gradient of position pos.
func (p *plan[T]) coefficient(pos int) float64 {
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

// blockRunner computes the positions of a call in fixed blocks of step
// positions: blocks(first, last, step, sums) processes blocks [first, last)
// in order and stores each block's loss sum in sums[b]. Ranges of blocks
// may run concurrently.
type blockRunner interface {
	blocks(first, last, step int, sums []float64)
}

// run calls r.blocks on the fixed blocks of positions, split over up to
// NumThreads threads, adds up the loss sums they return in block order and
// stores the reduced loss.
func (p *plan[T]) run(r blockRunner) {
	mean := p.opt.Reduction == ReductionMean
	if mean && p.denom == 0 {
		// 0/0: nothing contributes to the mean, so the gradient is zero.
		if len(p.loss) > 0 {
			p.loss[0] = T(math.NaN())
		}
		clear(p.grad)
		clear(p.gradLabels)
		return
	}
	if len(p.loss) == 0 && len(p.grad) == 0 && len(p.gradLabels) == 0 {
		return
	}

	step := blockPositions(p.shape.Classes)
	blocks := (p.positions + step - 1) / step
	sums := getSums(blocks)
	if threads := callThreads(blocks); threads <= 1 {
		r.blocks(0, blocks, step, *sums)
	} else {
		t := acquire[blockTask]()
		t.runner, t.step, t.sums = r, step, sums
		var chunks int
		t.perChunk, chunks = splitBlocks(blocks, threads)
		parallelFor(t, chunks, threads)
		release(t)
	}
	var total compensatedSum
	for _, s := range *sums {
		total.add(s)
	}
	putSums(sums)

	if p.opt.Reduction == ReductionNone || len(p.loss) == 0 {
		return
	}
	if mean {
		p.loss[0] = T(total.value() / p.denom)
	} else {
		p.loss[0] = T(total.value())
	}
}

// rowViews returns position pos's class axis of x and of out (nil when out
// is empty). For inner > 1 it gathers x into scratch and returns scratch for
// both, so the caller must scatter the output row back.
func rowViews[T Float](x, out, scratch []T, s Shape, pos int) (xRow, outRow []T) {
	if s.Inner == 1 {
		xRow = x[pos*s.Classes : (pos+1)*s.Classes]
		if len(out) > 0 {
			outRow = out[pos*s.Classes : (pos+1)*s.Classes]
		}
		return xRow, outRow
	}
	gather(scratch, x, s, pos/s.Inner, pos%s.Inner)
	if len(out) > 0 {
		outRow = scratch
	}
	return scratch, outRow
}

// nextRow returns the address of the row the kernels prefetch while they
// work on position pos: the row prefetchAheadBytes/rowBytes rows ahead (at
// least the next one), or the last row. It returns 0 when there is no later row or rows are empty or
// not contiguous (inner > 1). Without it the first pass over each row waits on
// memory: the fused sparse call on float32 8192x1000 logits took 8.9 ms
// against 4.9 ms with it (BenchmarkFusedSparse, one thread, AVX-512, on
// the Xeon). Prefetching the whole of a row of 1000 KiB pushed the current
// row out of L2 (64 rows of 256000 float32 took 19 ms instead of 16 ms), so
// of a long row only the start is prefetched (chunkPrefetch).
func nextRow[T Float](x []T, s Shape, pos, positions int) uintptr {
	if s.Inner != 1 || pos+1 >= positions || s.Classes == 0 {
		return 0
	}
	ahead := max(1, prefetchAheadBytes/(s.Classes*int(unsafe.Sizeof(x[0]))))
	next := min(pos+ahead, positions-1)
	return rowAddr(x[next*s.Classes:])
}

// prefetchAheadBytes is how far ahead nextRow looks. The prefetches of one
// row's passes must arrive before that row's max pass, and one row of 4 KB
// ahead was too short for that. On the Zen 5, float32 8192x1000 took 2.08
// ms prefetching 8 KiB (two rows) ahead against 2.27-2.41 ms one row ahead.
// 16384x500 took 2.9-3.07 ms against 3.16-3.26 ms (one thread, streamed).
const prefetchAheadBytes = 8 << 10

// Streaming the gradient. A plain store to a line that is not in the cache
// first reads the line from memory, so writing a gradient much larger than
// the caches costs a read and a write per line. With streamed
// (non-temporal) stores it costs the write only, but then the gradient must
// be written just once. So the exponentials go to a scratch row, which stays
// in L2, and the gradient pass reads them from there and streams the result
// out. On float32 4096x32000 logits that took the fused call from 130 ms to
// 93 ms (BenchmarkFusedSparse, one thread, AVX-512, 2-core Xeon).
//
// A gradient that fits in the last-level cache is better left there,
// because the caller reads it next, so the threshold is half that cache,
// and at most 64 MiB. On the Xeon, with 260 MiB of L3, streaming made
// 8192x1000 float32 (32 MiB) slower. On a Zen 5 with 32 MiB of L3 it made
// that shape faster, 2.7 ms against 3.1 ms, and 4096x2000 2.0 ms against
// 3.0 ms.
const (
	streamMaxBytes = 64 << 20
	// The scratch rows of a worker take twice this, and stay in a sync.Pool
	// until the next garbage collection. On the Zen 5, 128 MiB of float32
	// logits in rows of 1048576 took 10.1-12.2 ms streamed against
	// 13.7-16.1 ms not streamed on one thread, and 6.7 ms against 8.9 ms on
	// two.
	// NOTE: with many workers sharing one L3, their scratch rows may not fit
	// in it together; that was not measured.
	streamMaxRowBytes = 4 << 20
)

// streamMin is the smallest gradient, in bytes, that is streamed: the
// smaller of streamMaxBytes and half the last-level cache. Tests that force
// streaming set it to 0.
var streamMin = streamThreshold(lastLevelCacheBytes())

// streamThreshold returns the streamMin for a last-level cache of llc bytes,
// or for an unknown one when llc is 0.
func streamThreshold(llc uintptr) uintptr {
	if llc == 0 {
		return streamMaxBytes
	}
	return min(streamMaxBytes, llc/2)
}

// streamGradient reports whether the gradient of a call is streamed: it is
// large, not written over the logits, rows are contiguous and not too long,
// and its elements are aligned (a buffer from C may not be).
func streamGradient[T Float](grad, logits []T, s Shape) bool {
	if len(grad) == 0 || s.Inner != 1 || rowAddr(grad) == rowAddr(logits) {
		return false
	}
	size := unsafe.Sizeof(grad[0])
	return uintptr(len(grad)) >= streamMin/size &&
		uintptr(s.Classes) <= streamMaxRowBytes/size &&
		rowAddr(grad)%size == 0
}
