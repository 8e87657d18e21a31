package core_test

import (
	"errors"
	"fmt"

	"github.com/softmaxce/softmaxce/core"
)

// Two rows of three classes, the mean loss and its gradient in one pass.
func ExampleSparseCrossEntropy() {
	logits := []float32{
		2.0, 1.0, 0.1,
		0.5, 2.5, -1.0,
	}
	labels := []int64{0, 2}
	shape := core.Shape{Outer: 2, Classes: 3, Inner: 1}
	opt := core.Options{Reduction: core.ReductionMean}

	loss := make([]float32, 1)
	grad := make([]float32, len(logits))
	err := core.SparseCrossEntropy(loss, grad, logits, labels, nil, nil, shape, opt)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", loss[0])
	fmt.Printf("grad %.4f\n", grad[:3])
	fmt.Printf("grad %.4f\n", grad[3:])
	// Output:
	// loss 2.0351
	// grad [-0.1705 0.1212 0.0493]
	// grad [0.0581 0.4290 -0.4870]
}

// The gradient may overwrite the logits: pass the same slice as grad and
// logits.
func ExampleSparseCrossEntropy_inPlace() {
	logits := []float64{2.0, 1.0, 0.1}
	err := core.SparseCrossEntropy(nil, logits, logits, []int32{0}, nil, nil,
		core.Shape{Outer: 1, Classes: 3, Inner: 1}, core.Options{Reduction: core.ReductionSum})
	fmt.Println(err)
	fmt.Printf("%.4f\n", logits)
	// Output:
	// <nil>
	// [-0.3410 0.2424 0.0986]
}

// One loss per position; the position labelled with the ignore index gets
// loss 0.
func ExampleSparseForward() {
	logits := []float64{
		2.0, 1.0, 0.1,
		0.5, 2.5, -1.0,
		1.0, 1.0, 1.0,
	}
	labels := []int64{0, -100, 1}
	opt := core.Options{HasIgnoreIndex: true, IgnoreIndex: -100}
	loss := make([]float64, 3)
	err := core.SparseForward(loss, logits, labels, nil, core.Shape{Outer: 3, Classes: 3,
		Inner: 1}, opt)
	fmt.Println(err)
	fmt.Printf("%.4f\n", loss)
	// Output:
	// <nil>
	// [0.4170 0.0000 1.0986]
}

// A label outside [0, Classes) is an error that names the value and its
// position; nothing is written.
func ExampleLabelError() {
	logits := make([]float32, 6)
	loss := []float32{-1}
	err := core.SparseForward(loss, logits, []int64{1, 3}, nil,
		core.Shape{Outer: 2, Classes: 3, Inner: 1}, core.Options{Reduction: core.ReductionSum})

	var labelErr *core.LabelError
	if errors.As(err, &labelErr) {
		fmt.Println("position", labelErr.Position, "label", labelErr.Label)
	}
	fmt.Println(errors.Is(err, core.ErrLabelOutOfRange))
	fmt.Println(err)
	fmt.Println("loss", loss[0])
	// Output:
	// position 1 label 3
	// true
	// label value 3 at position 1 is outside the valid range [0, 3)
	// loss -1
}

func ExampleSoftmax() {
	x := []float64{1, 2, 3}
	p := make([]float64, 3)
	if err := core.Softmax(p, x, core.Shape{Outer: 1, Classes: 3, Inner: 1}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", p)
	// Output: [0.0900 0.2447 0.6652]
}

// The class axis need not be the last: here it has stride 2, as in a
// PyTorch tensor of shape (1, 3, 2).
func ExampleLogSoftmax() {
	x := []float64{
		1, 10, // class 0 of positions 0 and 1
		2, 10, // class 1
		3, 10, // class 2
	}
	y := make([]float64, 6)
	if err := core.LogSoftmax(y, x, core.Shape{Outer: 1, Classes: 3, Inner: 2}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("position 0: %.4f %.4f %.4f\n", y[0], y[2], y[4])
	fmt.Printf("position 1: %.4f %.4f %.4f\n", y[1], y[3], y[5])
	// Output:
	// position 0: -2.4076 -1.4076 -0.4076
	// position 1: -1.0986 -1.0986 -1.0986
}
