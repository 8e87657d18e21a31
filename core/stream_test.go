package core

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShortRowsNotStreamed checks that a call large enough to stream keeps
// short rows on the batch kernels, which took float32 1048576x10 from 120
// ms (row by row, streamed) to 35 ms (batched) on one thread.
func TestShortRowsNotStreamed(t *testing.T) {
	previous := streamMin
	streamMin = 0 // every gradient is large enough to stream
	defer func() { streamMin = previous }()

	for _, classes := range []int{10, smallRowMax32, smallRowMax32 + 1} {
		s := Shape{Outer: 4, Classes: classes, Inner: 1}
		logits := make([]float32, s.Outer*s.Classes)
		grad := make([]float32, len(logits))
		labels := make([]int32, s.Outer)
		p, err := newSparsePlan(nil, grad, logits, labels, nil, nil, s, Options{})
		require.NoError(t, err)
		short := classes <= smallRowMax32
		assert.Equal(t, short, p.smallRows(), "classes %d: short-row path", classes)
		assert.Equal(t, !short, p.stream, "classes %d: streamed", classes)
		release(p)
	}
}
