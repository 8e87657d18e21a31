//go:build !race

// The race detector makes sync.Pool drop objects at random, so allocation
// counts are only meaningful without it.

package core_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/softmaxce/softmaxce/core"
)

func TestSparseAllocations(t *testing.T) {
	t.Run("f32/int64", testSparseAllocations[float32, int64])
	t.Run("f64/int32", testSparseAllocations[float64, int32])
}

// testSparseAllocations checks that a call on rows (inner 1) allocates
// nothing once warm, on one block of work and on several blocks shared by
// two threads.
func testSparseAllocations[T core.Float, L core.Label](t *testing.T) {
	for _, s := range []core.Shape{{Outer: 64, Classes: 10, Inner: 1},
		{Outer: 3 * core.BlockElements / 10, Classes: 10, Inner: 1}} {
		r := newRand(13)
		logits := randomLogits[T](r, s)
		labels := convertLabels[L](randomLabels(r, s.Outer, s.Classes))
		weight := convertFloats[T](randomWeights(r, s.Classes))
		loss, grad := make([]T, 1), make([]T, len(logits))
		gradOutput := []T{1}
		opt := core.Options{Reduction: core.ReductionMean, HasIgnoreIndex: true,
			IgnoreIndex: -100, LabelSmoothing: 0.1, ZLoss: 1e-4}

		withThreads(t, 2, func() {
			var err error
			allocs := testing.AllocsPerRun(20, func() {
				err = core.SparseCrossEntropy(loss, grad, logits, labels, weight, gradOutput, s,
					opt)
			})
			require.NoError(t, err)
			assert.Zerof(t, allocs, "SparseCrossEntropy(%s %s %s, 2 threads) allocations per "+
				"call = %v, want 0", typeName[T, L](), shapeString(s), optionsString(opt), allocs)
		})
	}
}
