package core

import (
	"fmt"
	"math"
	"math/bits"
)

// Float is the set of logit element types.
type Float interface{ float32 | float64 }

// Label is the set of integer label types.
type Label interface{ int32 | int64 }

// Shape is the (Outer, Classes, Inner) layout of a problem: element
// (o, c, i) sits at index (o*Classes+c)*Inner + i.
type Shape struct {
	Outer   int
	Classes int
	Inner   int
}

// Reduction is the way per-position losses are combined.
type Reduction int32

// Reductions. The values match the C interface's SCE_REDUCTION_* codes.
const (
	ReductionNone Reduction = 0 // one loss per position
	ReductionSum  Reduction = 1 // the sum over positions
	ReductionMean Reduction = 2 // the sum divided by the MeanBy denominator
)

func (r Reduction) String() string {
	switch r {
	case ReductionNone:
		return "none"
	case ReductionSum:
		return "sum"
	case ReductionMean:
		return "mean"
	}
	return fmt.Sprintf("Reduction(%d)", int32(r))
}

// MeanBy selects the denominator of ReductionMean.
type MeanBy int32

// Mean denominators. The values match the C interface's SCE_MEAN_BY_* codes.
const (
	// MeanByWeightSum divides by the sum of w[label] over kept positions, or
	// by their count without weights (PyTorch, ONNX).
	MeanByWeightSum MeanBy = 0
	// MeanByValidCount divides by the number of kept positions (chainer).
	MeanByValidCount MeanBy = 1
	// MeanByOuter divides by Outer, the batch size (chainer normalize=False).
	MeanByOuter MeanBy = 2
	// MeanByPositions divides by Outer*Inner (PyTorch probability targets).
	MeanByPositions MeanBy = 3
)

// Options are the settings of a cross-entropy call. The zero value means no
// reduction, no ignored label, no smoothing and no z-loss.
type Options struct {
	Reduction Reduction

	// HasIgnoreIndex enables IgnoreIndex: positions whose label equals it
	// contribute 0 to the loss and a zero gradient, whatever their logits.
	HasIgnoreIndex bool
	IgnoreIndex    int64

	// LabelSmoothing is epsilon in [0, 1]. The target becomes
	// (1-eps)*onehot(y) + eps/C; with class weights the loss of a position is
	// (1-eps)*w[y]*(-log p_y) + (eps/C)*sum_c w[c]*(-log p_c), as in PyTorch.
	LabelSmoothing float64

	// ZLoss is a coefficient >= 0 adding ZLoss*logsumexp(x)^2 per kept
	// position, unweighted.
	ZLoss float64

	// MeanBy is the denominator of ReductionMean.
	MeanBy MeanBy

	// Flags holds FlagKLDivergence or 0.
	Flags Flags
}

// Flags are option bits. The values match the C interface's SCE_FLAG_* codes.
type Flags int32

// FlagKLDivergence makes the dense-label loss the KL divergence
// sum_c t_c*(log t_c - log p_c) instead of the cross-entropy: it subtracts the
// target entropy, which does not change the gradient with respect to the
// logits. Only DenseCrossEntropy accepts it.
const FlagKLDivergence Flags = 1

func (o *Options) check() error {
	switch o.Reduction {
	case ReductionNone, ReductionSum, ReductionMean:
	default:
		return argumentError("reduction %d is not one of 0 (none), 1 (sum), 2 (mean)",
			int32(o.Reduction))
	}
	if !(o.LabelSmoothing >= 0 && o.LabelSmoothing <= 1) {
		return argumentError("label_smoothing %v is outside [0, 1]", o.LabelSmoothing)
	}
	if !(o.ZLoss >= 0 && o.ZLoss <= math.MaxFloat64) {
		return argumentError("z_loss %v is not a finite value >= 0", o.ZLoss)
	}
	if o.Flags&^FlagKLDivergence != 0 {
		return argumentError("flags %d contains unknown bits; the only flag is %d "+
			"(KL divergence)", int32(o.Flags), int32(FlagKLDivergence))
	}
	if o.MeanBy < MeanByWeightSum || o.MeanBy > MeanByPositions {
		return argumentError("mean_by %d is not one of 0 (weight sum), 1 (valid count), "+
			"2 (outer), 3 (positions)", int32(o.MeanBy))
	}
	return nil
}

// maxElements is the largest element count accepted: it keeps every byte
// offset of a float64 buffer inside int64.
const maxElements = math.MaxInt64 / 8

// check validates the shape and returns the number of positions and elements.
func (s Shape) check() (positions, elements int, err error) {
	if s.Outer < 0 || s.Inner < 0 {
		return 0, 0, shapeError("outer %d and inner %d must be >= 0", s.Outer, s.Inner)
	}
	if s.Classes < 1 {
		return 0, 0, shapeError("classes %d must be >= 1: a class axis of length 0 "+
			"has no softmax", s.Classes)
	}
	hi, p := bits.Mul64(uint64(s.Outer), uint64(s.Inner))
	if hi != 0 || p > maxElements {
		return 0, 0, shapeError("outer %d * inner %d overflows", s.Outer, s.Inner)
	}
	hi, n := bits.Mul64(p, uint64(s.Classes))
	if hi != 0 || n > maxElements {
		return 0, 0, shapeError("outer %d * classes %d * inner %d overflows",
			s.Outer, s.Classes, s.Inner)
	}
	return int(p), int(n), nil
}
