package core_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"unsafe"

	"github.com/softmaxce/softmaxce/core"
)

// Benchmarks of the fused sparse cross-entropy (loss reduced by mean, and
// the gradient out of place) on every row kernel this CPU supports, on one
// thread and on all of them. A memory copy of the same bytes is the floor
// for a kernel that reads the logits once and writes the gradient once.
// Bytes per operation count the logits read and the gradient written, so
// the MB/s columns compare directly. Run them with
//
//	go test -run '^$' -bench 'Fused' -count 5 ./core
//
// The large shapes allocate up to 2 GiB (float64 4096x32000).

var fusedShapes = []struct {
	name  string
	f64   bool
	shape core.Shape
}{
	{"f32/4096x32000", false, core.Shape{Outer: 4096, Classes: 32000, Inner: 1}},
	{"f32/1024x50257", false, core.Shape{Outer: 1024, Classes: 50257, Inner: 1}},
	{"f32/8192x1000", false, core.Shape{Outer: 8192, Classes: 1000, Inner: 1}},
	{"f32/32x10", false, core.Shape{Outer: 32, Classes: 10, Inner: 1}},
	{"f64/4096x32000", true, core.Shape{Outer: 4096, Classes: 32000, Inner: 1}},
	// rows of 1000 KiB: a row and its gradient no longer fit in a 2 MiB L2
	{"f32/64x256000", false, core.Shape{Outer: 64, Classes: 256000, Inner: 1}},
	// rows of 4 MiB, longer than L2 on any current CPU
	{"f32/32x1048576", false, core.Shape{Outer: 32, Classes: 1 << 20, Inner: 1}},
}

// fusedThreads returns 1 and the default thread count, when that is larger.
func fusedThreads() []int {
	if n := core.NumThreads(); n > 1 {
		return []int{1, n}
	}
	return []int{1}
}

func BenchmarkFusedSparse(b *testing.B) {
	for _, fs := range fusedShapes {
		if fs.f64 {
			benchFusedShape[float64](b, fs.name, fs.shape)
		} else {
			benchFusedShape[float32](b, fs.name, fs.shape)
		}
	}
}

func benchFusedShape[T core.Float](b *testing.B, name string, s core.Shape) {
	// Inputs are made by the first sub-benchmark that runs, so that -bench
	// patterns that skip a shape do not pay for it.
	inputs := sync.OnceValues(func() ([]T, []int64) { return fusedInputs[T](s) })
	grad := sync.OnceValue(func() []T { return make([]T, s.Outer*s.Classes) })
	loss := make([]T, 1)
	opt := core.Options{Reduction: core.ReductionMean}
	for _, kernel := range core.KernelNames() {
		for _, threads := range fusedThreads() {
			b.Run(fmt.Sprintf("%s/%s/threads=%d", name, kernel, threads), func(b *testing.B) {
				logits, labels := inputs()
				grad := grad()
				defer core.UseKernel(kernel)()
				defer setBenchThreads(b, threads)()
				b.SetBytes(int64(2 * len(logits) * int(unsafe.Sizeof(logits[0]))))
				// untimed: the first call also maps the pages of grad
				err := core.SparseCrossEntropy(loss, grad, logits, labels, nil, nil, s, opt)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					err := core.SparseCrossEntropy(loss, grad, logits, labels, nil, nil, s, opt)
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkFusedCopy copies buffers of the size of the fused benchmarks'
// logits, split into contiguous parts over the threads.
func BenchmarkFusedCopy(b *testing.B) {
	for _, fs := range fusedShapes {
		size := 4
		if fs.f64 {
			size = 8
		}
		n := fs.shape.Outer * fs.shape.Classes * size
		buffers := sync.OnceValues(func() (src, dst []byte) {
			src, dst = make([]byte, n), make([]byte, n)
			for i := range src {
				src[i] = byte(i)
				dst[i] = byte(i) // map the pages before the timing
			}
			return src, dst
		})
		for _, threads := range fusedThreads() {
			b.Run(fmt.Sprintf("%s/threads=%d", fs.name, threads), func(b *testing.B) {
				src, dst := buffers()
				b.SetBytes(int64(2 * n))
				for b.Loop() {
					parallelCopy(dst, src, threads)
				}
			})
		}
	}
}

// parallelCopy copies src to dst in threads contiguous parts at once.
func parallelCopy(dst, src []byte, threads int) {
	if threads == 1 || len(src) < 1<<20 {
		copy(dst, src)
		return
	}
	var wg sync.WaitGroup
	part := (len(src) + threads - 1) / threads
	for lo := 0; lo < len(src); lo += part {
		hi := min(lo+part, len(src))
		wg.Go(func() { copy(dst[lo:hi], src[lo:hi]) })
	}
	wg.Wait()
}

// fusedInputs returns logits drawn from N(0, 2^2) and uniform labels.
func fusedInputs[T core.Float](s core.Shape) ([]T, []int64) {
	r := rand.New(rand.NewPCG(uint64(s.Outer), uint64(s.Classes)))
	logits := make([]T, s.Outer*s.Classes)
	for i := range logits {
		logits[i] = T(2 * r.NormFloat64())
	}
	labels := make([]int64, s.Outer)
	for i := range labels {
		labels[i] = int64(r.IntN(s.Classes))
	}
	return logits, labels
}

// setBenchThreads sets the thread count and returns a function that restores
// the previous one.
func setBenchThreads(b *testing.B, n int) (restore func()) {
	previous := core.NumThreads()
	if err := core.SetNumThreads(n); err != nil {
		b.Fatal(err)
	}
	runtime.GC() // collect the previous shape's buffers outside the timing
	return func() {
		if err := core.SetNumThreads(previous); err != nil {
			b.Fatal(err)
		}
	}
}
