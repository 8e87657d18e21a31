// Package core computes softmax cross-entropy losses and their gradients,
// softmax and log-softmax, over float32 and float64 buffers.
//
// Every function takes flat, row-major buffers and a [Shape] of the form
// (Outer, Classes, Inner): the class axis has stride Inner. An (N, C) matrix
// is {N, C, 1}; PyTorch's (N, C, d1, ..., dk) is {N, C, d1*...*dk}; a
// TensorFlow tensor with the class axis last is {d0*...*dr, C, 1}. A
// position is one (outer, inner) pair.
//
// Numerics: each position's loss is formed as (m - x_y) + log(s), with m the
// maximum logit and s = sum_c exp(x_c - m), never as log(softmax). Per-position
// losses are computed in float64 and reductions accumulate them in float64 in
// a fixed order, so a reduced loss does not depend on how the work is split.
//
// Arguments are checked before anything is written: when a function returns
// an error, every output buffer is unchanged. Outputs that come first in the
// argument list are written (dst first, as in the math and gonum packages).
//
// The package uses no cgo; the C interface lives in the capi directory.
package core
