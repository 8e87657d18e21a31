package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Tests of the worker pool: allocation-free calls, chunk bookkeeping, panics
// in chunks, concurrent callers, and the thread count from the environment.

// setThreads sets the thread count for the rest of the test.
func setThreads(t *testing.T, n int) {
	t.Helper()
	previous := NumThreads()
	if err := SetNumThreads(n); err != nil {
		t.Fatalf("SetNumThreads(%d) = %v", n, err)
	}
	t.Cleanup(func() { numThreads.Store(int32(previous)) })
}

// allocShape has several blocks of work, so that 2 threads are used.
var allocShape = Shape{Outer: 4 * blockElements / 1000, Classes: 1000, Inner: 1}

// TestCallsDoNotAllocate checks that calls with inner == 1 allocate nothing
// once warm, on 1 and 2 threads.
func TestCallsDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops objects at random under the race detector")
	}
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			setThreads(t, threads)
			testCallsDoNotAllocate[float32](t)
			testCallsDoNotAllocate[float64](t)
		})
	}
}

func testCallsDoNotAllocate[T Float](t *testing.T) {
	s := allocShape
	n := s.Outer * s.Classes
	r := rand.New(rand.NewPCG(1, uint64(n)))
	x, y, grad := make([]T, n), make([]T, n), make([]T, n)
	targets := make([]T, n)
	labels := make([]int64, s.Outer)
	for i := range x {
		x[i] = T(4 * r.NormFloat64())
		targets[i] = T(r.Float64())
	}
	for i := range labels {
		labels[i] = int64(r.IntN(s.Classes))
	}
	loss := make([]T, s.Outer)
	mean := Options{Reduction: ReductionMean}
	dense := Options{Reduction: ReductionSum, MeanBy: MeanByPositions}

	calls := []struct {
		name string
		f    func() error
	}{
		{"SparseCrossEntropy(mean)", func() error {
			return SparseCrossEntropy(loss[:1], grad, x, labels, nil, nil, s, mean)
		}},
		{"SparseCrossEntropy(none)", func() error {
			return SparseCrossEntropy(loss, grad, x, labels, nil, nil, s, Options{})
		}},
		{"DenseCrossEntropy", func() error {
			return DenseCrossEntropy(loss[:1], grad, nil, x, targets, nil, nil, s, dense)
		}},
		{"Softmax", func() error { return Softmax(y, x, s) }},
		{"LogSoftmax", func() error { return LogSoftmax(y, x, s) }},
		{"SoftmaxBackward", func() error { return SoftmaxBackward(grad, y, x, s) }},
	}
	for _, c := range calls {
		var err error
		allocs := testing.AllocsPerRun(20, func() {
			if e := c.f(); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatalf("%T %s: %v", x, c.name, err)
		}
		if allocs != 0 {
			t.Errorf("%T %s with %d threads: %v allocations per call, want 0", x, c.name,
				NumThreads(), allocs)
		}
	}
}

// chunkCounter counts how often each chunk runs.
type chunkCounter struct {
	runs    []atomic.Int32
	panicAt int // chunk that panics, or -1
}

func (c *chunkCounter) runChunk(i int) {
	c.runs[i].Add(1)
	if i == c.panicAt {
		panic(fmt.Sprintf("chunk %d failed", i))
	}
}

// TestParallelForRunsEachChunkOnce checks the chunk bookkeeping for many
// chunk and thread counts, with several callers at once.
func TestParallelForRunsEachChunkOnce(t *testing.T) {
	var wg sync.WaitGroup
	for caller := range 4 {
		wg.Go(func() {
			for chunks := range 40 {
				for _, threads := range []int{1, 2, 3, 8} {
					c := &chunkCounter{runs: make([]atomic.Int32, chunks), panicAt: -1}
					parallelFor(c, chunks, threads)
					for i := range c.runs {
						if n := c.runs[i].Load(); n != 1 {
							t.Errorf("caller %d: parallelFor(%d chunks, %d threads) ran chunk "+
								"%d %d times, want once", caller, chunks, threads, i, n)
						}
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestParallelForPanic checks that a panic in a chunk reaches the caller
// after all chunks have run, and that the pool keeps working.
func TestParallelForPanic(t *testing.T) {
	for _, panicAt := range []int{0, 5, 11} {
		c := &chunkCounter{runs: make([]atomic.Int32, 12), panicAt: panicAt}
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if want := fmt.Sprintf("chunk %d failed", panicAt); !strings.Contains(msg, want) {
					t.Errorf("parallelFor panic = %v, want a message containing %q", r, want)
				}
			}()
			parallelFor(c, len(c.runs), 3)
			t.Errorf("parallelFor returned normally, want the panic of chunk %d", panicAt)
		}()
		for i := range c.runs {
			if n := c.runs[i].Load(); n != 1 {
				t.Errorf("after a panic in chunk %d: chunk %d ran %d times, want once",
					panicAt, i, n)
			}
		}
	}

	c := &chunkCounter{runs: make([]atomic.Int32, 9), panicAt: -1}
	parallelFor(c, len(c.runs), 3)
	for i := range c.runs {
		if n := c.runs[i].Load(); n != 1 {
			t.Errorf("after the panics: chunk %d ran %d times, want once", i, n)
		}
	}
}

// TestConcurrentCallersSameBits runs SparseCrossEntropy from several
// goroutines at once on 2 threads each and compares with one thread.
func TestConcurrentCallersSameBits(t *testing.T) {
	s := Shape{Outer: 5 * blockElements / 700, Classes: 700, Inner: 1}
	n := s.Outer * s.Classes
	r := rand.New(rand.NewPCG(5, 5))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(3 * r.NormFloat64())
	}
	labels := make([]int32, s.Outer)
	for i := range labels {
		labels[i] = int32(r.IntN(s.Classes))
	}
	opt := Options{Reduction: ReductionMean, LabelSmoothing: 0.1}

	setThreads(t, 1)
	wantLoss, wantGrad := make([]float32, 1), make([]float32, n)
	if err := SparseCrossEntropy(wantLoss, wantGrad, x, labels, nil, nil, s, opt); err != nil {
		t.Fatal(err)
	}

	setThreads(t, 2)
	var wg sync.WaitGroup
	for caller := range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			loss, grad := make([]float32, 1), make([]float32, n)
			for range 3 {
				if err := SparseCrossEntropy(loss, grad, x, labels, nil, nil, s, opt); err != nil {
					t.Error(err)
					return
				}
				if math.Float32bits(loss[0]) != math.Float32bits(wantLoss[0]) {
					t.Errorf("caller %d: loss = %v, want %v as on one thread", caller, loss[0],
						wantLoss[0])
				}
				for i := range grad {
					if math.Float32bits(grad[i]) != math.Float32bits(wantGrad[i]) {
						t.Errorf("caller %d: grad[%d] = %v, want %v as on one thread", caller, i,
							grad[i], wantGrad[i])
						break
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestThreadsFromEnv(t *testing.T) {
	def := min(runtime.GOMAXPROCS(0), maxThreads)
	tests := []struct {
		env  string
		want int
	}{
		{"3", 3},
		{" 2 ", 2},
		{"1024", 1024},
		{"", def},
		{"0", def},
		{"-2", def},
		{"1025", def},
		{"two", def},
	}
	for _, tt := range tests {
		t.Setenv(numThreadsEnv, tt.env)
		if got := threadsFromEnv(); got != tt.want {
			t.Errorf("threadsFromEnv() with %s=%q = %d, want %d", numThreadsEnv, tt.env, got,
				tt.want)
		}
	}
}

func TestSplitBlocks(t *testing.T) {
	for blocks := 1; blocks < 200; blocks++ {
		for threads := 1; threads <= 9; threads++ {
			per, chunks := splitBlocks(blocks, threads)
			if per < 1 || chunks < 1 || (chunks-1)*per >= blocks || chunks*per < blocks {
				t.Errorf("splitBlocks(%d, %d) = %d per chunk, %d chunks: does not cover "+
					"the blocks exactly once", blocks, threads, per, chunks)
			}
			if chunks > threads*chunksPerThread {
				t.Errorf("splitBlocks(%d, %d) = %d chunks, want at most %d", blocks, threads,
					chunks, threads*chunksPerThread)
			}
		}
	}
}
