package core_test

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/softmaxce/softmaxce/core"
)

// benchShapes are a batch of rows with a 1000-class output and a
// language-model vocabulary of 32000; both have 8192000 logits.
var benchShapes = []core.Shape{
	{Outer: 8192, Classes: 1000, Inner: 1},
	{Outer: 256, Classes: 32000, Inner: 1},
}

// BenchmarkSparseCrossEntropy times the fused loss and gradient, reduced by
// mean, out of place. Bytes per operation are the logits read plus the
// gradient written, so the MB/s figure compares with BenchmarkCopy's.
func BenchmarkSparseCrossEntropy(b *testing.B) {
	for _, s := range benchShapes {
		b.Run("f32/"+benchName(s), func(b *testing.B) { benchSparse[float32](b, s) })
		b.Run("f64/"+benchName(s), func(b *testing.B) { benchSparse[float64](b, s) })
	}
}

func benchSparse[T core.Float](b *testing.B, s core.Shape) {
	r := newRand(29)
	logits := randomLogits[T](r, s)
	labels := randomLabels(r, s.Outer, s.Classes)
	loss, grad := make([]T, 1), make([]T, len(logits))
	opt := core.Options{Reduction: core.ReductionMean}
	b.SetBytes(int64(2 * len(logits) * int(unsafe.Sizeof(logits[0]))))
	b.ResetTimer()
	for b.Loop() {
		err := core.SparseCrossEntropy(loss, grad, logits, labels, nil, nil, s, opt)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCopy copies a buffer of the benchmark shapes' size: the memory
// floor of a kernel that reads the logits once and writes the gradient once.
func BenchmarkCopy(b *testing.B) {
	for _, s := range benchShapes {
		b.Run("f32/"+benchName(s), func(b *testing.B) { benchCopy[float32](b, s) })
		b.Run("f64/"+benchName(s), func(b *testing.B) { benchCopy[float64](b, s) })
	}
}

func benchCopy[T core.Float](b *testing.B, s core.Shape) {
	src := make([]T, s.Outer*s.Classes*s.Inner)
	for i := range src {
		src[i] = T(i)
	}
	dst := make([]T, len(src))
	b.SetBytes(int64(2 * len(src) * int(unsafe.Sizeof(src[0]))))
	b.ResetTimer()
	for b.Loop() {
		copy(dst, src)
	}
}

func benchName(s core.Shape) string {
	return fmt.Sprintf("%dx%d", s.Outer, s.Classes)
}
