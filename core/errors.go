package core

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers can branch with errors.Is.
var (
	// ErrLabelOutOfRange reports a label outside [0, Classes) that is not the
	// ignore index. The error is a *LabelError.
	ErrLabelOutOfRange = errors.New("label out of range")

	// ErrInvalidShape reports a dimension or buffer length that does not
	// match the shape.
	ErrInvalidShape = errors.New("invalid shape")

	// ErrInvalidArgument reports an option or weight with an invalid value.
	ErrInvalidArgument = errors.New("invalid argument")

	// ErrOverlap reports an output buffer that overlaps an input or another
	// output in a way other than the permitted exact in-place aliasing.
	ErrOverlap = errors.New("overlapping buffers")
)

// LabelError describes the first label found outside [0, Classes).
type LabelError struct {
	Position int64 // flat position index: outer*Inner + inner
	Label    int64 // the offending value
	Classes  int   // the number of classes
	Ignore   *int64
}

func (e *LabelError) Error() string {
	msg := fmt.Sprintf("label value %d at position %d is outside the valid range [0, %d)",
		e.Label, e.Position, e.Classes)
	if e.Ignore != nil {
		msg += fmt.Sprintf(" and is not the ignore index %d", *e.Ignore)
	}
	return msg
}

// Unwrap returns ErrLabelOutOfRange.
func (e *LabelError) Unwrap() error { return ErrLabelOutOfRange }

func shapeError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidShape}, args...)...)
}

func argumentError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}

func overlapError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrOverlap}, args...)...)
}
