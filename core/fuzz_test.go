package core_test

// Fuzz targets for every public entry point of package core, and a table of
// hostile inputs built from the same decoders.
//
// Each target decodes the fuzz bytes into a shape, options, buffer lengths,
// an aliasing layout and the values (the byte layouts are described above
// fzSparseHeaderLen and fzSoftmaxHeaderLen). The call under test then has to
// meet the error contract:
//
//   - it never panics;
//   - an input that breaks a documented rule returns an error wrapping the
//     sentinel of that rule, and every byte of every buffer is unchanged;
//   - a valid input returns nil, the outputs match a float64 reference
//     written here (tolerance per element type, NaN and infinities exactly),
//     and nothing outside the outputs changes, guard bytes included.
//
// The committed seed corpus under testdata/fuzz/<FuzzName>/ is generated
// from the seed tables at the end of this file: run
//
//	SOFTMAXCE_WRITE_FUZZ_CORPUS=1 go test -run TestFuzzSeedCorpus ./core
//
// after changing a seed, and TestFuzzSeedCorpus fails while the files and the
// tables differ. Other files there are inputs the fuzzer found, kept as
// regression seeds under names that say what they check.

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/softmaxce/softmaxce/core"
)

// ---- Byte source -------------------------------------------------------------

// fzSource hands out the fuzz bytes in order. Past the end it returns
// pseudo-random bytes from a generator seeded with a hash of the input, and
// reports them as generated, so decoders map them to ordinary values only:
// fuzz bytes reach the special values, padding does not.
type fzSource struct {
	data  []byte
	pos   int
	state uint64
}

func newFzSource(data []byte) *fzSource {
	h := fnv.New64a()
	h.Write(data)
	return &fzSource{data: data, state: h.Sum64() | 1}
}

// next returns the next byte and whether it came from the fuzz input.
func (s *fzSource) next() (byte, bool) {
	if s.pos < len(s.data) {
		b := s.data[s.pos]
		s.pos++
		return b, true
	}
	// xorshift64*
	s.state ^= s.state >> 12
	s.state ^= s.state << 25
	s.state ^= s.state >> 27
	return byte((s.state * 0x2545f4914f6cdd1d) >> 56), false
}

// header returns the next byte, 0 past the end of the input, so that a short
// input decodes to the plainest case.
func (s *fzSource) header() byte {
	b, fromInput := s.next()
	if !fromInput {
		return 0
	}
	return b
}

// ---- Value tables ------------------------------------------------------------

// fzLogitSpecial is the first logit byte that picks a special value: a byte
// below it is the ordinary value (b-116)/8 times the scale, and the others
// index fzLogitSpecials.
const fzLogitSpecial = 232

var fzLogitSpecials = [256 - fzLogitSpecial]float64{
	math.Inf(1), math.Inf(-1), math.NaN(), 1e30, -1e30,
	88.72, -87.3, 709.78, -745.1, 3.4e38,
	-3.4e38, 1e-45, math.Copysign(0, -1), 16777217, 1e15,
	-1e15, 1e300, -1e300, 0.5, -math.NaN(),
	1e-300, 100, -100, 20,
}

var fzScales = [8]float64{1, 1, 1, 1.0 / 64, 8, 1000, 1e20, 1e-20}

func fzLogit(b byte, fromInput bool, scale float64) float64 {
	if b >= fzLogitSpecial && fromInput {
		return fzLogitSpecials[b-fzLogitSpecial]
	}
	return float64(int(b%fzLogitSpecial)-116) / 8 * scale
}

// fzWeightSpecial is the first class-weight byte that indexes
// fzWeightSpecials; a byte below it is the weight b/32, in [0, 7.5).
const fzWeightSpecial = 240

var fzWeightSpecials = [256 - fzWeightSpecial]float64{
	math.NaN(), math.Inf(1), math.Inf(-1), -1, math.Copysign(0, -1),
	1e-30, 1e30, -1e-300, 0, 1,
	1, 1, 1, 1, 1,
	1,
}

func fzWeight(b byte, fromInput bool) float64 {
	if b >= fzWeightSpecial && fromInput {
		return fzWeightSpecials[b-fzWeightSpecial]
	}
	return float64(b%fzWeightSpecial) / 32
}

// fzGradOutput maps a byte to an upstream gradient in [-8, 8); 144 is 1.
func fzGradOutput(b byte) float64 {
	return float64(int(b)-128) / 16
}

// fzDenseSpecial is the first dense-label byte that indexes fzDenseSpecials;
// a byte below it is the label b/128, in [0, 1.75).
const fzDenseSpecial = 240

var fzDenseSpecials = [256 - fzDenseSpecial]float64{
	0, math.Copysign(0, -1), 1, -0.5, 2,
	1e-30, math.NaN(), 1e30, -1, 0.25,
	0, 0, 0, 0, 0,
	0,
}

func fzDenseLabel(b byte, fromInput bool) float64 {
	if b >= fzDenseSpecial && fromInput {
		return fzDenseSpecials[b-fzDenseSpecial]
	}
	return float64(b%fzDenseSpecial) / 128
}

// fzLabelSpecial is the first integer-label byte that picks a special value
// in fzLabel (out of range, or the ignore index); a byte below it is the class
// b % classes.
const fzLabelSpecial = 224

func fzLabel(b byte, fromInput bool, classes int, ignore *int64, wide bool) int64 {
	c := int64(max(classes, 1))
	if b < fzLabelSpecial || !fromInput {
		return int64(b) % c
	}
	switch b - fzLabelSpecial {
	case 0:
		return -1
	case 1:
		return c
	case 2:
		return c + 1
	case 3:
		return -100
	case 4:
		if ignore != nil && (wide || *ignore == int64(int32(*ignore))) {
			return *ignore
		}
		return -100
	case 5:
		if wide {
			return 1<<32 + 1 // would wrap to class 1 in 32 bits
		}
		return math.MaxInt32
	case 6:
		if wide {
			return 1 << 31
		}
		return math.MinInt32
	case 7:
		if wide {
			return math.MinInt64
		}
		return math.MinInt32
	case 8:
		if wide {
			return math.MaxInt64
		}
		return math.MaxInt32
	case 9:
		if wide {
			return 1 << 32 // would wrap to class 0 in 32 bits
		}
		return -2
	case 10:
		if wide {
			return -(1 << 32) + 1
		}
		return c + 100
	case 11:
		return 2 * c
	}
	return int64(b) % c
}

// ---- Header fields -------------------------------------------------------------

// Option values: a header byte from the high end of its range picks an invalid
// or extreme value, the rest ordinary ones.

func fzReduction(b byte) core.Reduction {
	if b >= 252 {
		return [4]core.Reduction{3, -1, 7, math.MinInt32}[b-252]
	}
	return core.Reduction(b % 3)
}

var fzSmoothingSpecials = [16]float64{
	math.NaN(), -0.1, 1.5, math.Inf(1), math.Inf(-1),
	math.Copysign(0, -1), 1, 1e-300, 0.5, math.Nextafter(1, 2),
	-1e-300, 0.999999, 0.1, 0.1, 0.1,
	0.1,
}

func fzSmoothing(b byte) float64 {
	switch {
	case b < 128:
		return 0
	case b < 240:
		return float64(b-128) / 111
	}
	return fzSmoothingSpecials[b-240]
}

var fzZLossSpecials = [8]float64{
	math.NaN(), -1e-4, math.Inf(1), math.MaxFloat64, math.Copysign(0, -1),
	1, 1e-4, 1e-4,
}

func fzZLoss(b byte) float64 {
	switch {
	case b < 200:
		return 0
	case b < 248:
		return float64(b-199) * 1e-4
	}
	return fzZLossSpecials[b-248]
}

func fzMeanBy(b byte) core.MeanBy {
	if b >= 252 {
		return [4]core.MeanBy{4, -1, 100, math.MinInt32}[b-252]
	}
	return core.MeanBy(b % 4)
}

func fzFlags(b byte) core.Flags {
	if b >= 250 {
		return [6]core.Flags{1, 2, 3, -1, 1 << 30, 1}[b-250]
	}
	return 0
}

// fzDenseFlags decodes the option flags of a dense case. Dense labels accept
// the KL flag, so half of the ordinary bytes set it.
func fzDenseFlags(b byte) core.Flags {
	if b >= 250 {
		return [6]core.Flags{2, 3, -1, 1 << 30, 4, 1}[b-250]
	}
	return core.Flags(b % 2)
}

// fzIgnore returns the ignore index (nil for none) for a header byte.
func fzIgnore(b byte, classes int) *int64 {
	if b == 0 {
		return nil
	}
	c := int64(classes)
	v := [8]int64{-100, -1, 0, c - 1, c, c + 7, 1<<32 + 1, math.MinInt64}[(b-1)%8]
	return &v
}

// Dimensions. Small problems have outer < 8, classes < 34 and inner < 4; a
// medium one (flag bit 6) spans several blocks of positions. A byte from the
// high end picks an invalid or extreme size.

var fzOuterSpecials = [6]int{-1, 1 << 40, 1 << 62, math.MaxInt64, 0, 1}
var fzClassSpecials = [6]int{0, -1, 1 << 31, 1 << 62, math.MaxInt64, 65537}
var fzInnerSpecials = [6]int{-1, 1 << 40, 17, 0, 1, math.MaxInt64}

func fzShape(outer, classes, inner byte, medium bool) core.Shape {
	var s core.Shape
	switch {
	case outer >= 250:
		s.Outer = fzOuterSpecials[outer-250]
	case medium:
		s.Outer = 16 + int(outer)*2
	default:
		s.Outer = int(outer % 8)
	}
	switch {
	case classes >= 250:
		s.Classes = fzClassSpecials[classes-250]
	case medium:
		s.Classes = 1 + int(classes)
	default:
		s.Classes = int(classes % 34)
	}
	switch {
	case inner >= 250:
		s.Inner = fzInnerSpecials[inner-250]
	case medium:
		s.Inner = 1 + int(inner%3)
	default:
		s.Inner = int(inner % 4)
	}
	return s
}

// fzMaxElements bounds the buffers a decoded case allocates. A shape beyond it
// is either invalid (it overflows) or too large to fuzz; such a case gets
// short buffers, so it must fail with a shape error.
const fzMaxElements = 1 << 21

// fzCounts returns the positions and elements of s, or ok false when s is
// invalid or exceeds fzMaxElements.
func fzCounts(s core.Shape) (positions, elements int, ok bool) {
	if s.Outer < 0 || s.Inner < 0 || s.Classes < 1 {
		return 0, 0, false
	}
	if s.Outer > fzMaxElements || s.Inner > fzMaxElements || s.Classes > fzMaxElements {
		return 0, 0, false
	}
	positions = s.Outer * s.Inner
	elements = positions * s.Classes
	if positions > fzMaxElements || elements > fzMaxElements {
		return 0, 0, false
	}
	return positions, elements, true
}

// fzShapeValid reports whether core must accept shape s: dimensions in range and
// outer*classes*inner*8 bytes within int64.
func fzShapeValid(s core.Shape) bool {
	if s.Outer < 0 || s.Inner < 0 || s.Classes < 1 {
		return false
	}
	limit := uint64(math.MaxInt64 / 8)
	p, overflow := fzMul(uint64(s.Outer), uint64(s.Inner))
	if overflow || p > limit {
		return false
	}
	n, overflow := fzMul(p, uint64(s.Classes))
	return !overflow && n <= limit
}

func fzMul(a, b uint64) (uint64, bool) {
	if a == 0 || b == 0 {
		return 0, false
	}
	p := a * b
	return p, p/b != a
}

// ---- Memory layout -------------------------------------------------------------

// fzGuard is the number of guard bytes before and after every region.
const fzGuard = 64

// fzGuardByte fills guard regions and, before a call, every output.
const fzGuardByte = 0xa5

// fzBuffer is one argument's place in the arena: byte offset and element
// count. A buffer may share a region with another to test aliasing.
type fzBuffer struct {
	name string
	off  int // byte offset in the arena
	n    int // elements
	size int // bytes per element
}

func (b fzBuffer) bytes() int { return b.n * b.size }

func (b fzBuffer) overlaps(o fzBuffer) bool {
	if b.n == 0 || o.n == 0 {
		return false
	}
	return b.off < o.off+o.bytes() && o.off < b.off+b.bytes()
}

func (b fzBuffer) same(o fzBuffer) bool {
	return b.off == o.off && b.bytes() == o.bytes()
}

// fzArena is one allocation that holds every buffer of a call, so that
// buffers can overlap in any way and a snapshot covers all of them.
type fzArena struct {
	mem  []byte
	bufs map[string]*fzBuffer
}

// newFzArena lays out the buffers, each in its own guarded region, except
// those in alias, which start at byte offset shift inside their host's
// region; a host's region grows to hold what is placed in it.
func newFzArena(bufs []*fzBuffer, alias map[string]fzAlias) *fzArena {
	a := &fzArena{bufs: map[string]*fzBuffer{}}
	region := map[string]int{}
	for _, b := range bufs {
		a.bufs[b.name] = b
		region[b.name] = max(region[b.name], b.bytes())
		if al, ok := alias[b.name]; ok {
			region[al.host] = max(region[al.host], al.shift+b.bytes())
		}
	}
	off := fzGuard
	for _, b := range bufs {
		if _, ok := alias[b.name]; ok {
			continue
		}
		b.off = off
		off = fzAlign(off+region[b.name]) + fzGuard
	}
	for _, b := range bufs {
		if al, ok := alias[b.name]; ok {
			b.off = a.bufs[al.host].off + al.shift
		}
	}

	a.mem = make([]byte, off+8)
	// Align the base to 8 bytes for float64 and int64 views.
	if rem := int(uintptr(unsafe.Pointer(unsafe.SliceData(a.mem))) % 8); rem != 0 {
		a.mem = a.mem[8-rem:]
	}
	a.mem = a.mem[:off]
	for i := range a.mem {
		a.mem[i] = fzGuardByte
	}
	return a
}

// fzAlias places a buffer at byte offset shift inside host's region.
type fzAlias struct {
	host  string
	shift int
}

func fzAlign(n int) int { return (n + 7) &^ 7 }

// fzView returns buffer b of the arena as a []E, nil when empty.
func fzView[E any](a *fzArena, name string) []E {
	b := a.bufs[name]
	if b == nil || b.n == 0 {
		return nil
	}
	return unsafe.Slice((*E)(unsafe.Pointer(&a.mem[b.off])), b.n)
}

func (a *fzArena) snapshot() []byte { return bytes.Clone(a.mem) }

// checkUnchanged reports the first byte that differs from before, skipping
// the bytes of the outputs named in skip.
func (a *fzArena) checkUnchanged(t *testing.T, call string, before []byte, skip ...string) {
	t.Helper()
	written := make([]bool, len(a.mem))
	for _, name := range skip {
		b := a.bufs[name]
		if b == nil {
			continue
		}
		for i := b.off; i < b.off+b.bytes(); i++ {
			written[i] = true
		}
	}
	for i := range a.mem {
		if !written[i] && a.mem[i] != before[i] {
			t.Fatalf("%s changed byte %d (%s) from %#x to %#x", call, i, a.locate(i),
				before[i], a.mem[i])
		}
	}
}

// locate names the buffer that holds byte i, for failure messages.
func (a *fzArena) locate(i int) string {
	var names []string
	for name, b := range a.bufs {
		if i >= b.off && i < b.off+b.bytes() {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "a guard region"
	}
	return "buffer " + strings.Join(names, " and ")
}

// fzIllegalOverlap reports whether the outputs and inputs overlap in a way core
// must reject. An output may only be exactly the same buffer as the input its
// inPlace entry names.
func fzIllegalOverlap(outputs, inputs []*fzBuffer, inPlace map[string][]string) bool {
	for i, out := range outputs {
		for _, in := range inputs {
			if !out.overlaps(*in) {
				continue
			}
			allowed := false
			for _, name := range inPlace[out.name] {
				if name == in.name && out.same(*in) {
					allowed = true
				}
			}
			if !allowed {
				return true
			}
		}
		for _, other := range outputs[i+1:] {
			if out.overlaps(*other) {
				return true
			}
		}
	}
	return false
}

// ---- Comparison ----------------------------------------------------------------

// Tolerances against the float64 reference, relative to each element's
// scale (the sum of the magnitudes of the terms that form it). Float32
// kernels round x - m and exp(x - m) to float32 and add the exponentials in
// float32, so an element is off by about 2^-24 times its scale times |x - m|
// (at most about 88 before exp underflows) plus a term that grows with the
// number of classes; fzTolerance adds that term.
const (
	fzTol32 = 2e-5
	fzTol64 = 4e-14
)

func fzTolerance(f64 bool, classes int) float64 {
	growth := 1 + float64(classes)/64
	if f64 {
		return fzTol64 * growth
	}
	return fzTol32 * growth
}

// fzLSEScale returns the scale of lse = m + log(s) in the z-loss gradient
// term 2*z*lse: |lse| + 1, not |lse|. The kernels form s from exponentials
// rounded to the element type, so log(s) carries an absolute error of a few
// units of 2^-24 (float32) or 2^-53 (float64) however close lse is to 0:
// each exp(x_c - m) is off by about 2 + |x_c - m| units, weighs p_c in
// log(s), and p_c*|x_c - m| <= 1/e. For float32 logits [0, -9, -9.125],
// lse = 2.3e-4 and the float32 sum 1.000232 is off by up to 6e-8 (half an
// ulp of 1), a relative error of 2.6e-4 in lse, 13 times the float32
// tolerance. With the 1 the allowed error of the term is at least tol*2*z,
// and tol is 335 units of 2^-24 (float32) or 360 units of 2^-53 (float64).
func fzLSEScale(lse float64) float64 {
	return math.Abs(lse) + 1
}

// fzFloor is the absolute error allowed for results near the subnormal range.
func fzFloor(f64 bool) float64 {
	if f64 {
		return 0x1p-1022
	}
	return 0x1p-126
}

// fzClose reports whether got matches want: NaN only against NaN, an
// infinity only against the same infinity, and finite values within
// tol*scale plus the subnormal floor. A float32 want beyond the float32
// range may be met by the infinity of its sign.
func fzClose(got, want, scale, tol float64, f64 bool) bool {
	switch {
	case math.IsNaN(want):
		return math.IsNaN(got)
	case math.IsNaN(got):
		return false
	case math.IsInf(want, 0):
		return got == want
	}
	if math.IsNaN(scale) {
		scale = 0 // a 0 * Inf term of the scale: that term is exactly 0
	}
	allowed := tol*scale + fzFloor(f64)
	if math.IsInf(got, 0) {
		limit := math.MaxFloat64
		if !f64 {
			limit = math.MaxFloat32
		}
		return math.Abs(want)+allowed >= limit && math.Signbit(got) == math.Signbit(want)
	}
	return math.Abs(got-want) <= allowed
}

func fzCheckClose[T core.Float](t *testing.T, call, what string, got []T, want,
	scale []float64, tol float64) {
	t.Helper()
	f64 := unsafe.Sizeof(got[0]) == 8
	for i := range got {
		g := float64(got[i])
		if !fzClose(g, want[i], scale[i], tol, f64) {
			t.Fatalf("%s %s[%d] = %v, want %v (tolerance %.3g * scale %.3g)",
				call, what, i, g, want[i], tol, scale[i])
		}
	}
}

func fzSameBits[T core.Float](t *testing.T, call, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s %s has %d elements, want %d", call, what, len(got), len(want))
	}
	for i := range got {
		if math.Float64bits(float64(got[i])) != math.Float64bits(float64(want[i])) {
			t.Fatalf("%s %s[%d] = %v, want %v bit for bit", call, what, i, got[i], want[i])
		}
	}
}

// fzCheckError checks err against the sentinels of the broken rules: nil when
// none is broken, else an error wrapping one of them.
func fzCheckError(t *testing.T, call string, err error, broken []error) {
	t.Helper()
	if len(broken) == 0 {
		if err != nil {
			t.Fatalf("%s: unexpected error: %v", call, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("%s = nil, want an error wrapping one of %v", call, broken)
	}
	if err.Error() == "" {
		t.Fatalf("%s returned an error with an empty message", call)
	}
	for _, sentinel := range broken {
		if errors.Is(err, sentinel) {
			return
		}
	}
	t.Fatalf("%s = %v, want an error wrapping one of %v", call, err, broken)
}

// fzRound returns v rounded to the element type of f64.
func fzRound(v float64, f64 bool) float64 {
	if f64 {
		return v
	}
	return float64(float32(v))
}

// ---- Rows: reference math --------------------------------------------------------

// fzRowStats returns the maximum (ignoring NaN, -Inf when there is none), the
// sum of exp(x_c - m) and its logarithm, in float64.
func fzRowStats(x []float64) (m, s, logS float64) {
	m = math.Inf(-1)
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m, s, math.Log(s)
}

// fzSoftmaxTerm returns exp(v - m) as the gradient contract counts it: 0 when
// it falls below the smallest normal number of the element type, as the
// kernels flush it.
//
// NOTE: the kernels decide the flush on their own exp(x - m), rounded in the
// element type, so a value within a few ulp of the smallest normal number
// may be 0 there and not here. It matters only against an overflowed z-loss
// factor, and no logit of the value tables lands that close.
func fzSoftmaxTerm(v, m float64, f64 bool) float64 {
	e := math.Exp(v - m)
	if e < fzFloor(f64) {
		return 0
	}
	return e
}

// fzMulGrad returns x*y, but 0 when x is 0 and y is ±Inf: the gradient
// contract for a zero softmax value or upstream gradient x times a z-loss
// factor y that overflowed, whose exact value is finite.
func fzMulGrad(x, y float64) float64 {
	if x == 0 && math.IsInf(y, 0) {
		return 0
	}
	return x * y
}

// fzExactSum returns the sum of terms rounded once to float64: NaN when a
// term is NaN or the terms hold both infinities, an infinity when they hold
// one, else the exact sum of the finite terms, rounded. A plain float64 sum
// of large terms that cancel can even get the sign wrong, which decides the
// sign of an infinite gradient.
func fzExactSum(terms []float64) float64 {
	var positive, negative bool
	exact := new(big.Float).SetPrec(4096) // exact for any sum of float64 values
	for _, v := range terms {
		switch {
		case math.IsNaN(v):
			return math.NaN()
		case math.IsInf(v, 1):
			positive = true
		case math.IsInf(v, -1):
			negative = true
		default:
			exact.Add(exact, big.NewFloat(v))
		}
	}
	switch {
	case positive && negative:
		return math.NaN()
	case positive:
		return math.Inf(1)
	case negative:
		return math.Inf(-1)
	}
	sum, _ := exact.Float64()
	return sum
}

// fzRow returns the class axis of position pos of x.
func fzRow(x []float64, s core.Shape, pos int) []float64 {
	o, i := pos/s.Inner, pos%s.Inner
	row := make([]float64, s.Classes)
	for c := range row {
		row[c] = x[(o*s.Classes+c)*s.Inner+i]
	}
	return row
}

// fzSetRow stores row as the class axis of position pos of dst.
func fzSetRow(dst []float64, s core.Shape, pos int, row []float64) {
	o, i := pos/s.Inner, pos%s.Inner
	for c, v := range row {
		dst[(o*s.Classes+c)*s.Inner+i] = v
	}
}

// fzResult is a reference result with the scale of each element.
type fzResult struct {
	loss, lossScale         []float64
	grad, gradScale         []float64
	gradLabels, labelsScale []float64
}

// fzReduce forms the loss and applies the gradient coefficients of a
// reduction. rowLoss and rowScale are per position; kept marks the positions
// that contribute; rowGrad(pos, coef) writes that position's gradient.
func fzReduce(r *fzResult, opt core.Options, gradOutput []float64, denom float64,
	rowLoss, rowScale []float64, kept []bool, rowGrad func(pos int, coef float64)) {
	positions := len(rowLoss)
	if opt.Reduction == core.ReductionNone {
		r.loss, r.lossScale = rowLoss, rowScale
		for pos := range positions {
			coef := 1.0
			if len(gradOutput) > 0 {
				coef = gradOutput[pos]
			}
			if kept[pos] {
				rowGrad(pos, coef)
			}
		}
		return
	}
	upstream := 1.0
	if len(gradOutput) > 0 {
		upstream = gradOutput[0]
	}
	var total, scale float64
	for pos := range positions {
		total += rowLoss[pos]
		scale += rowScale[pos]
	}
	coef := upstream
	if opt.Reduction == core.ReductionMean {
		if denom == 0 {
			// 0/0: the loss is NaN and the gradient stays all zero.
			r.loss, r.lossScale = []float64{math.NaN()}, []float64{0}
			return
		}
		total, scale, coef = total/denom, scale/denom, upstream/denom
	}
	r.loss, r.lossScale = []float64{total}, []float64{scale}
	for pos := range positions {
		if kept[pos] {
			rowGrad(pos, coef)
		}
	}
}

// ---- Sparse cross-entropy ------------------------------------------------------

// Header layout of a sparse case (one byte each):
//
//	0  flags: 1 float64, 2 int64 labels, 4 class weights, 8 grad_output,
//	   16 no loss, 32 no grad, 64 medium size
//	1  reduction      2 outer   3 classes   4 inner
//	5  ignore index   6 label smoothing     7 z-loss
//	8  mean_by        9 flags   10 aliasing 11 length change
//	12 logit scale
//
// then one byte per label, per class weight (when weighted), per grad_output
// value (when given) and per logit, in that order.
const fzSparseHeaderLen = 13

const (
	fzFlagF64 = 1 << iota
	fzFlagWideLabels
	fzFlagWeighted
	fzFlagGradOutput
	fzFlagNoLoss
	fzFlagNoGrad
	fzFlagMedium
)

// Aliasing layouts of the sparse and dense cases.
const (
	fzAliasNone            = iota
	fzAliasGradIsLogits    // in place: valid
	fzAliasGradShifted     // grad starts one element into logits
	fzAliasLossInLogits    // loss inside logits
	fzAliasLossInGrad      // loss inside grad
	fzAliasWeightInGrad    // weight inside grad
	fzAliasGradOutInGrad   // grad_output inside grad
	fzAliasLabelsInGrad    // labels inside grad
	fzAliasGradOutIsLoss   // grad_output is loss
	fzAliasLossInLabels    // loss inside labels
	fzAliasGradLabelsLabel // dense: grad_labels is labels
	fzAliasGradLabelsGrad  // dense: grad_labels is grad
	fzAliasCount
)

func fzAliasMode(b byte) int {
	if b < 200 {
		return fzAliasNone
	}
	return int(b-200) % fzAliasCount
}

// fzLengthChange returns which buffer (index into the case's buffer list) gets
// one element more or less, or -1 for none.
func fzLengthChange(b byte, buffers int) (index, delta int) {
	if b < 220 {
		return -1, 0
	}
	k := int(b - 220)
	delta = 1
	if (k/buffers)%2 == 1 {
		delta = -1
	}
	return k % buffers, delta
}

// fzSparse is one decoded sparse case.
type fzSparse struct {
	f64, wide                   bool
	shape                       core.Shape
	opt                         core.Options
	positions, elements         int
	labels                      []int64
	logits, weight, gradOutput  []float64 // before rounding to the element type
	wantLoss, wantGrad, shapeOK bool
	alias                       int
	lengths                     [6]int // logits, labels, weight, grad_output, loss, grad
}

func decodeSparse(data []byte) *fzSparse {
	src := newFzSource(data)
	h := make([]byte, fzSparseHeaderLen)
	for i := range h {
		h[i] = src.header()
	}
	flags := h[0]
	c := &fzSparse{
		f64:      flags&fzFlagF64 != 0,
		wide:     flags&fzFlagWideLabels != 0,
		shape:    fzShape(h[2], h[3], h[4], flags&fzFlagMedium != 0),
		wantLoss: flags&fzFlagNoLoss == 0,
		wantGrad: flags&fzFlagNoGrad == 0,
		alias:    fzAliasMode(h[10]),
	}
	c.opt = core.Options{
		Reduction:      fzReduction(h[1]),
		LabelSmoothing: fzSmoothing(h[6]),
		ZLoss:          fzZLoss(h[7]),
		MeanBy:         fzMeanBy(h[8]),
		Flags:          fzFlags(h[9]),
	}
	if ignore := fzIgnore(h[5], c.shape.Classes); ignore != nil {
		c.opt.HasIgnoreIndex, c.opt.IgnoreIndex = true, *ignore
	}
	var ok bool
	c.positions, c.elements, ok = fzCounts(c.shape)
	c.shapeOK = ok
	classes := 0
	if ok {
		classes = c.shape.Classes
	}

	// Lengths as the shape requires, then one changed by the header.
	lossLen := 1
	if c.opt.Reduction == core.ReductionNone {
		lossLen = c.positions
	}
	c.lengths = [6]int{c.elements, c.positions, 0, 0, 0, 0}
	if flags&fzFlagWeighted != 0 {
		c.lengths[2] = classes
	}
	if flags&fzFlagGradOutput != 0 {
		c.lengths[3] = lossLen
	}
	if c.wantLoss {
		c.lengths[4] = lossLen
	}
	if c.wantGrad {
		c.lengths[5] = c.elements
	}
	if !ok {
		// Too large or invalid: short buffers, which core must reject.
		c.lengths = [6]int{3, 2, 0, 0, 1, 3}
	}
	if i, d := fzLengthChange(h[11], len(c.lengths)); i >= 0 {
		c.lengths[i] = max(0, c.lengths[i]+d)
		if c.lengths[i] == 0 && d < 0 {
			c.lengths[i] = 1
		}
	}

	var ignore *int64
	if c.opt.HasIgnoreIndex {
		ignore = &c.opt.IgnoreIndex
	}
	c.labels = make([]int64, c.lengths[1])
	for i := range c.labels {
		b, in := src.next()
		c.labels[i] = fzLabel(b, in, classes, ignore, c.wide)
	}
	c.weight = make([]float64, c.lengths[2])
	for i := range c.weight {
		b, in := src.next()
		c.weight[i] = fzWeight(b, in)
	}
	c.gradOutput = make([]float64, c.lengths[3])
	for i := range c.gradOutput {
		b, _ := src.next()
		c.gradOutput[i] = fzGradOutput(b)
	}
	scale := fzScales[h[12]%8]
	c.logits = make([]float64, c.lengths[0])
	for i := range c.logits {
		b, in := src.next()
		c.logits[i] = fzLogit(b, in, scale)
	}
	return c
}

// layout builds the arena for the case's aliasing mode.
func (c *fzSparse) layout() *fzArena {
	fsize, lsize := 4, 4
	if c.f64 {
		fsize = 8
	}
	if c.wide {
		lsize = 8
	}
	bufs := []*fzBuffer{
		{name: "logits", n: c.lengths[0], size: fsize},
		{name: "labels", n: c.lengths[1], size: lsize},
		{name: "weight", n: c.lengths[2], size: fsize},
		{name: "grad_output", n: c.lengths[3], size: fsize},
		{name: "loss", n: c.lengths[4], size: fsize},
		{name: "grad", n: c.lengths[5], size: fsize},
	}
	// Place aliased buffers after their hosts.
	alias := map[string]fzAlias{}
	switch c.alias {
	case fzAliasGradIsLogits:
		alias["grad"] = fzAlias{"logits", 0}
	case fzAliasGradShifted:
		alias["grad"] = fzAlias{"logits", fsize}
	case fzAliasLossInLogits:
		alias["loss"] = fzAlias{"logits", 0}
	case fzAliasLossInGrad:
		alias["loss"] = fzAlias{"grad", fsize}
	case fzAliasWeightInGrad:
		alias["weight"] = fzAlias{"grad", 0}
	case fzAliasGradOutInGrad:
		alias["grad_output"] = fzAlias{"grad", 0}
	case fzAliasLabelsInGrad:
		alias["labels"] = fzAlias{"grad", 0}
	case fzAliasGradOutIsLoss:
		alias["grad_output"] = fzAlias{"loss", 0}
	case fzAliasLossInLabels:
		alias["loss"] = fzAlias{"labels", 0}
	}
	return newFzArena(bufs, alias)
}

// broken returns the sentinel errors of every rule the case breaks.
func (c *fzSparse) broken(a *fzArena) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	s, opt := c.shape, c.opt
	if !fzShapeValid(s) {
		add(core.ErrInvalidShape)
	}
	errs = append(errs, fzOptionErrors(opt)...)
	if opt.Flags != 0 {
		add(core.ErrInvalidArgument)
	}
	if !c.shapeOK {
		// The buffers are short on purpose: a valid shape this large must
		// still be rejected for the lengths.
		return append(errs, core.ErrInvalidShape)
	}
	lossLen := 1
	if opt.Reduction == core.ReductionNone {
		lossLen = c.positions
	}
	l := c.lengths
	if l[0] != c.elements || l[1] != c.positions || (l[2] != 0 && l[2] != s.Classes) ||
		(l[3] != 0 && l[3] != lossLen) || (l[4] != 0 && l[4] != lossLen) ||
		(l[5] != 0 && l[5] != c.elements) {
		add(core.ErrInvalidShape)
	}
	for _, w := range fzWeightsAsStored(c.weight, c.f64) {
		if !(w >= 0 && w <= math.MaxFloat64) {
			add(core.ErrInvalidArgument)
			break
		}
	}
	b := a.bufs
	if fzIllegalOverlap([]*fzBuffer{b["loss"], b["grad"]},
		[]*fzBuffer{b["logits"], b["labels"], b["weight"], b["grad_output"]},
		map[string][]string{"grad": {"logits"}}) {
		add(core.ErrOverlap)
	}
	if c.firstBadLabel() >= 0 {
		add(core.ErrLabelOutOfRange)
	}
	return errs
}

// fzOptionErrors returns the errors of option values valid for no call.
func fzOptionErrors(opt core.Options) []error {
	var errs []error
	if opt.Reduction < core.ReductionNone || opt.Reduction > core.ReductionMean {
		errs = append(errs, core.ErrInvalidArgument)
	}
	if !(opt.LabelSmoothing >= 0 && opt.LabelSmoothing <= 1) {
		errs = append(errs, core.ErrInvalidArgument)
	}
	if !(opt.ZLoss >= 0 && opt.ZLoss <= math.MaxFloat64) {
		errs = append(errs, core.ErrInvalidArgument)
	}
	if opt.Flags&^core.FlagKLDivergence != 0 {
		errs = append(errs, core.ErrInvalidArgument)
	}
	if opt.MeanBy < core.MeanByWeightSum || opt.MeanBy > core.MeanByPositions {
		errs = append(errs, core.ErrInvalidArgument)
	}
	return errs
}

// fzWeightsAsStored returns the weights rounded to the element type.
func fzWeightsAsStored(w []float64, f64 bool) []float64 {
	out := make([]float64, len(w))
	for i, v := range w {
		out[i] = fzRound(v, f64)
	}
	return out
}

// firstBadLabel returns the position of the first label outside [0, classes)
// that is not the ignore index, or -1.
func (c *fzSparse) firstBadLabel() int {
	for i, y := range c.labels {
		if c.opt.HasIgnoreIndex && y == c.opt.IgnoreIndex {
			continue
		}
		if y < 0 || y >= int64(c.shape.Classes) {
			return i
		}
	}
	return -1
}

// reference computes the loss and gradient of a valid case in float64 from
// the inputs as stored (rounded to the element type).
func (c *fzSparse) reference() fzResult {
	s, opt := c.shape, c.opt
	x := fzWeightsAsStored(c.logits, c.f64)
	w := fzWeightsAsStored(c.weight, c.f64)
	gout := fzWeightsAsStored(c.gradOutput, c.f64)
	classes := float64(s.Classes)
	eps, z := opt.LabelSmoothing, opt.ZLoss
	weightOf := func(k int) float64 {
		if len(w) == 0 {
			return 1
		}
		return w[k]
	}
	var weightSum float64
	for k := range s.Classes {
		weightSum += weightOf(k)
	}

	kept := make([]bool, c.positions)
	var keptCount, keptWeight float64
	for pos, y := range c.labels {
		kept[pos] = !(opt.HasIgnoreIndex && y == opt.IgnoreIndex)
		if kept[pos] {
			keptCount++
			keptWeight += weightOf(int(y))
		}
	}
	denom := map[core.MeanBy]float64{
		core.MeanByWeightSum:  keptWeight,
		core.MeanByValidCount: keptCount,
		core.MeanByOuter:      float64(s.Outer),
		core.MeanByPositions:  float64(c.positions),
	}[opt.MeanBy]
	if opt.MeanBy == core.MeanByWeightSum && len(w) == 0 {
		denom = keptCount
	}

	rowLoss := make([]float64, c.positions)
	rowScale := make([]float64, c.positions)
	for pos, y := range c.labels {
		if !kept[pos] {
			continue
		}
		row := fzRow(x, s, pos)
		m, _, logS := fzRowStats(row)
		lse := m + logS
		if math.IsNaN(logS) {
			// A row holding NaN or +Inf, or all -Inf, is undefined.
			rowLoss[pos] = math.NaN()
			continue
		}
		wy := weightOf(int(y))
		var loss, scale float64
		if eps < 1 {
			loss += (1 - eps) * wy * ((m - row[y]) + logS)
			scale += (1 - eps) * wy * (math.Abs(m-row[y]) + logS + 1)
		}
		if eps > 0 {
			for k, v := range row {
				if wk := weightOf(k); wk != 0 {
					loss += eps / classes * wk * ((m - v) + logS)
					scale += eps / classes * wk * (math.Abs(m-v) + logS + 1)
				}
			}
		}
		if z > 0 {
			loss += z * lse * lse
			scale += z * (lse*lse + math.Abs(lse) + 1)
		}
		rowLoss[pos], rowScale[pos] = loss, scale
	}

	var r fzResult
	r.grad = make([]float64, c.elements)
	r.gradScale = make([]float64, c.elements)
	fzReduce(&r, opt, gout, denom, rowLoss, rowScale, kept, func(pos int, coef float64) {
		y := int(c.labels[pos])
		row := fzRow(x, s, pos)
		m, sum, logS := fzRowStats(row)
		g := make([]float64, s.Classes)
		gs := make([]float64, s.Classes)
		if math.IsNaN(logS) {
			for k := range g {
				g[k], gs[k] = math.NaN(), 0
			}
		} else {
			// a is the factor of softmax(x) in the gradient, and magnitude the
			// sum of its terms' sizes: the z-loss term 2*z*lse may cancel the
			// others, leaving the float32 rounding of log(s) in it.
			a, magnitude := 0.0, 0.0
			if eps < 1 {
				a += (1 - eps) * weightOf(y)
			}
			if eps > 0 {
				a += eps / classes * weightSum
			}
			magnitude = a
			if z > 0 {
				lse := m + logS
				a += z * (2 * lse)
				magnitude += 2 * z * fzLSEScale(lse)
			}
			for k, v := range row {
				p := fzSoftmaxTerm(v, m, c.f64) / sum
				b := 0.0
				if k == y && eps < 1 {
					b += (1 - eps) * weightOf(y)
				}
				if eps > 0 {
					b += eps / classes * weightOf(k)
				}
				g[k] = fzMulGrad(coef, fzMulGrad(p, a)-b)
				gs[k] = math.Abs(coef) * (magnitude + math.Abs(b))
			}
		}
		fzSetRow(r.grad, s, pos, g)
		fzSetRow(r.gradScale, s, pos, gs)
	})
	return r
}

// fzSparseMode selects the entry point a sparse target calls.
type fzSparseMode int

const (
	fzSparseFused fzSparseMode = iota
	fzSparseForward
	fzSparseBackward
)

// runSparse decodes data, calls the entry point of mode and checks the
// contract. It returns the call's error.
func runSparse(t *testing.T, data []byte, mode fzSparseMode) error {
	c := decodeSparse(data)
	switch mode {
	case fzSparseForward:
		// SparseForward takes no grad and no grad_output.
		c.wantGrad, c.lengths[5], c.lengths[3], c.gradOutput = false, 0, 0, nil
	case fzSparseBackward:
		c.wantLoss, c.lengths[4] = false, 0
	}
	switch {
	case c.f64 && c.wide:
		return runSparseTyped[float64, int64](t, c, mode)
	case c.f64:
		return runSparseTyped[float64, int32](t, c, mode)
	case c.wide:
		return runSparseTyped[float32, int64](t, c, mode)
	}
	return runSparseTyped[float32, int32](t, c, mode)
}

func runSparseTyped[T core.Float, L core.Label](t *testing.T, c *fzSparse,
	mode fzSparseMode) error {
	t.Helper()
	a := c.layout()
	logits := fzView[T](a, "logits")
	labels := fzView[L](a, "labels")
	weight := fzView[T](a, "weight")
	gradOutput := fzView[T](a, "grad_output")
	loss := fzView[T](a, "loss")
	grad := fzView[T](a, "grad")
	// Outputs keep the guard bytes; inputs are written last, so an input
	// placed inside an output holds its own values.
	for i, v := range c.logits {
		logits[i] = T(v)
	}
	for i, v := range c.weight {
		weight[i] = T(v)
	}
	for i, v := range c.gradOutput {
		gradOutput[i] = T(v)
	}
	for i, v := range c.labels {
		labels[i] = L(v)
	}
	broken := c.broken(a)
	before := a.snapshot()

	call := fmt.Sprintf("%v(%s)", mode, c.describe())
	var err error
	switch mode {
	case fzSparseForward:
		err = core.SparseForward(loss, logits, labels, weight, c.shape, c.opt)
	case fzSparseBackward:
		err = core.SparseBackward(grad, logits, labels, weight, gradOutput, c.shape, c.opt)
	default:
		err = core.SparseCrossEntropy(loss, grad, logits, labels, weight, gradOutput,
			c.shape, c.opt)
	}
	fzCheckError(t, call, err, broken)
	if err != nil {
		fzCheckLabelError(t, call, err, c, broken)
		a.checkUnchanged(t, call, before)
		return err
	}
	a.checkUnchanged(t, call, before, "loss", "grad")

	want := c.reference()
	tol := fzTolerance(c.f64, c.shape.Classes)
	if len(loss) > 0 {
		fzCheckClose(t, call, "loss", loss, want.loss, want.lossScale, tol)
	}
	if len(grad) > 0 {
		fzCheckClose(t, call, "grad", grad, want.grad, want.gradScale, tol)
	}
	if mode != fzSparseFused {
		fzCompareFused[T, L](t, call, c, loss, grad)
	}
	return nil
}

// fzCheckLabelError checks the fields of a *core.LabelError when an
// out-of-range label is the only broken rule.
func fzCheckLabelError(t *testing.T, call string, err error, c *fzSparse, broken []error) {
	t.Helper()
	if len(broken) != 1 || broken[0] != core.ErrLabelOutOfRange {
		return
	}
	var le *core.LabelError
	if !errors.As(err, &le) {
		t.Fatalf("%s = %v, want a *core.LabelError", call, err)
	}
	first := c.firstBadLabel()
	if le.Position != int64(first) || le.Label != c.labels[first] ||
		le.Classes != c.shape.Classes {
		t.Fatalf("%s: LabelError{Position: %d, Label: %d, Classes: %d}, want "+
			"{%d, %d, %d}", call, le.Position, le.Label, le.Classes, first,
			c.labels[first], c.shape.Classes)
	}
	if !strings.Contains(err.Error(), strconv.FormatInt(le.Label, 10)) {
		t.Fatalf("%s: message %q does not name the label %d", call, err, le.Label)
	}
}

// fzCompareFused checks that SparseForward's loss and SparseBackward's
// gradient equal those of one fused SparseCrossEntropy call bit for bit.
func fzCompareFused[T core.Float, L core.Label](t *testing.T, call string, c *fzSparse,
	loss, grad []T) {
	t.Helper()
	lossLen := 1
	if c.opt.Reduction == core.ReductionNone {
		lossLen = c.positions
	}
	logits := make([]T, len(c.logits))
	for i, v := range c.logits {
		logits[i] = T(v)
	}
	labels := make([]L, len(c.labels))
	for i, v := range c.labels {
		labels[i] = L(v)
	}
	weight := make([]T, len(c.weight))
	for i, v := range c.weight {
		weight[i] = T(v)
	}
	gradOutput := make([]T, len(c.gradOutput))
	for i, v := range c.gradOutput {
		gradOutput[i] = T(v)
	}
	fusedLoss := make([]T, lossLen)
	fusedGrad := make([]T, c.elements)
	err := core.SparseCrossEntropy(fusedLoss, fusedGrad, logits, labels, weight,
		gradOutput, c.shape, c.opt)
	if err != nil {
		t.Fatalf("%s: the fused call failed: %v", call, err)
	}
	if len(loss) > 0 {
		fzSameBits(t, call, "loss (fused)", loss, fusedLoss)
	}
	if len(grad) > 0 {
		fzSameBits(t, call, "grad (fused)", grad, fusedGrad)
	}
}

func (m fzSparseMode) String() string {
	return [...]string{"SparseCrossEntropy", "SparseForward", "SparseBackward"}[m]
}

func (c *fzSparse) describe() string {
	return fmt.Sprintf("f64=%v int64=%v shape=%+v opt=%+v lengths=%v alias=%d",
		c.f64, c.wide, c.shape, c.opt, c.lengths, c.alias)
}

// ---- Dense cross-entropy -------------------------------------------------------

// A dense case has the sparse header, with flag bit 2 meaning "no
// grad_labels" and header byte 5 giving an ignore index only from 250 up
// (dense labels reject it). Its values are one byte per class weight, per
// grad_output value, per label and per logit.

const fzFlagNoGradLabels = fzFlagWideLabels

// fzDense is one decoded dense case.
type fzDense struct {
	f64                 bool
	shape               core.Shape
	opt                 core.Options
	positions, elements int
	labels, logits      []float64
	weight, gradOutput  []float64
	shapeOK             bool
	alias               int
	lengths             [7]int // logits, labels, weight, grad_output, loss, grad, grad_labels
}

func fzDenseMeanBy(b byte) core.MeanBy {
	if b >= 252 {
		return [4]core.MeanBy{core.MeanByWeightSum, core.MeanByValidCount, 4, -1}[b-252]
	}
	return [2]core.MeanBy{core.MeanByPositions, core.MeanByOuter}[b%2]
}

func decodeDense(data []byte) *fzDense {
	src := newFzSource(data)
	h := make([]byte, fzSparseHeaderLen)
	for i := range h {
		h[i] = src.header()
	}
	flags := h[0]
	c := &fzDense{
		f64:   flags&fzFlagF64 != 0,
		shape: fzShape(h[2], h[3], h[4], flags&fzFlagMedium != 0),
		alias: fzAliasMode(h[10]),
	}
	c.opt = core.Options{
		Reduction:      fzReduction(h[1]),
		LabelSmoothing: fzSmoothing(h[6]),
		ZLoss:          fzZLoss(h[7]),
		MeanBy:         fzDenseMeanBy(h[8]),
		Flags:          fzDenseFlags(h[9]),
	}
	if h[5] >= 250 {
		c.opt.HasIgnoreIndex, c.opt.IgnoreIndex = true, int64(h[5])-253
	}
	var ok bool
	c.positions, c.elements, ok = fzCounts(c.shape)
	c.shapeOK = ok
	classes := 0
	if ok {
		classes = c.shape.Classes
	}
	lossLen := 1
	if c.opt.Reduction == core.ReductionNone {
		lossLen = c.positions
	}
	c.lengths = [7]int{c.elements, c.elements, 0, 0, 0, 0, 0}
	if flags&fzFlagWeighted != 0 {
		c.lengths[2] = classes
	}
	if flags&fzFlagGradOutput != 0 {
		c.lengths[3] = lossLen
	}
	if flags&fzFlagNoLoss == 0 {
		c.lengths[4] = lossLen
	}
	if flags&fzFlagNoGrad == 0 {
		c.lengths[5] = c.elements
	}
	if flags&fzFlagNoGradLabels == 0 {
		c.lengths[6] = c.elements
	}
	if !ok {
		c.lengths = [7]int{3, 3, 0, 0, 1, 3, 3}
	}
	if i, d := fzLengthChange(h[11], len(c.lengths)); i >= 0 {
		c.lengths[i] = max(0, c.lengths[i]+d)
		if c.lengths[i] == 0 && d < 0 {
			c.lengths[i] = 1
		}
	}

	c.weight = make([]float64, c.lengths[2])
	for i := range c.weight {
		b, in := src.next()
		c.weight[i] = fzWeight(b, in)
	}
	c.gradOutput = make([]float64, c.lengths[3])
	for i := range c.gradOutput {
		b, _ := src.next()
		c.gradOutput[i] = fzGradOutput(b)
	}
	c.labels = make([]float64, c.lengths[1])
	for i := range c.labels {
		b, in := src.next()
		c.labels[i] = fzDenseLabel(b, in)
	}
	scale := fzScales[h[12]%8]
	c.logits = make([]float64, c.lengths[0])
	for i := range c.logits {
		b, in := src.next()
		c.logits[i] = fzLogit(b, in, scale)
	}
	return c
}

func (c *fzDense) layout() *fzArena {
	size := 4
	if c.f64 {
		size = 8
	}
	bufs := []*fzBuffer{
		{name: "logits", n: c.lengths[0], size: size},
		{name: "labels", n: c.lengths[1], size: size},
		{name: "weight", n: c.lengths[2], size: size},
		{name: "grad_output", n: c.lengths[3], size: size},
		{name: "loss", n: c.lengths[4], size: size},
		{name: "grad", n: c.lengths[5], size: size},
		{name: "grad_labels", n: c.lengths[6], size: size},
	}
	alias := map[string]fzAlias{}
	switch c.alias {
	case fzAliasGradIsLogits:
		alias["grad"] = fzAlias{"logits", 0}
	case fzAliasGradShifted:
		alias["grad"] = fzAlias{"logits", size}
	case fzAliasLossInLogits:
		alias["loss"] = fzAlias{"logits", 0}
	case fzAliasLossInGrad:
		alias["loss"] = fzAlias{"grad", size}
	case fzAliasWeightInGrad:
		alias["weight"] = fzAlias{"grad", 0}
	case fzAliasGradOutInGrad:
		alias["grad_output"] = fzAlias{"grad", 0}
	case fzAliasLabelsInGrad:
		alias["labels"] = fzAlias{"grad", 0}
	case fzAliasGradOutIsLoss:
		alias["grad_output"] = fzAlias{"loss", 0}
	case fzAliasLossInLabels:
		alias["loss"] = fzAlias{"labels", 0}
	case fzAliasGradLabelsLabel:
		alias["grad_labels"] = fzAlias{"labels", 0}
	case fzAliasGradLabelsGrad:
		alias["grad_labels"] = fzAlias{"grad", 0}
	}
	return newFzArena(bufs, alias)
}

func (c *fzDense) broken(a *fzArena) []error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	s, opt := c.shape, c.opt
	if !fzShapeValid(s) {
		add(core.ErrInvalidShape)
	}
	errs = append(errs, fzOptionErrors(opt)...)
	if opt.HasIgnoreIndex {
		add(core.ErrInvalidArgument)
	}
	if opt.MeanBy != core.MeanByPositions && opt.MeanBy != core.MeanByOuter {
		add(core.ErrInvalidArgument)
	}
	if !c.shapeOK {
		return append(errs, core.ErrInvalidShape)
	}
	lossLen := 1
	if opt.Reduction == core.ReductionNone {
		lossLen = c.positions
	}
	l := c.lengths
	if l[0] != c.elements || l[1] != c.elements || (l[2] != 0 && l[2] != s.Classes) ||
		(l[3] != 0 && l[3] != lossLen) || (l[4] != 0 && l[4] != lossLen) ||
		(l[5] != 0 && l[5] != c.elements) || (l[6] != 0 && l[6] != c.elements) {
		add(core.ErrInvalidShape)
	}
	for _, w := range fzWeightsAsStored(c.weight, c.f64) {
		if !(w >= 0 && w <= math.MaxFloat64) {
			add(core.ErrInvalidArgument)
			break
		}
	}
	b := a.bufs
	if fzIllegalOverlap([]*fzBuffer{b["loss"], b["grad"], b["grad_labels"]},
		[]*fzBuffer{b["logits"], b["labels"], b["weight"], b["grad_output"]},
		map[string][]string{"grad": {"logits"}}) {
		add(core.ErrOverlap)
	}
	return errs
}

// reference computes the loss and both gradients of a valid dense case.
func (c *fzDense) reference() fzResult {
	s, opt := c.shape, c.opt
	x := fzWeightsAsStored(c.logits, c.f64)
	t := fzWeightsAsStored(c.labels, c.f64)
	w := fzWeightsAsStored(c.weight, c.f64)
	gout := fzWeightsAsStored(c.gradOutput, c.f64)
	classes := float64(s.Classes)
	eps, z := opt.LabelSmoothing, opt.ZLoss
	kl := opt.Flags&core.FlagKLDivergence != 0
	weightOf := func(k int) float64 {
		if len(w) == 0 {
			return 1
		}
		return w[k]
	}
	// smoothed returns u_k, the smoothed target, and a_k = w_k * u_k.
	smoothed := func(row []float64, k int) (u, a float64) {
		u = row[k]
		if eps > 0 {
			u = (1-eps)*u + eps/classes
		}
		return u, weightOf(k) * u
	}

	rowLoss := make([]float64, c.positions)
	rowScale := make([]float64, c.positions)
	kept := make([]bool, c.positions)
	for pos := range c.positions {
		kept[pos] = true
		xr, tr := fzRow(x, s, pos), fzRow(t, s, pos)
		m, _, logS := fzRowStats(xr)
		if math.IsNaN(logS) {
			rowLoss[pos] = math.NaN()
			continue
		}
		var loss, scale float64
		for k, v := range xr {
			u, a := smoothed(tr, k)
			if a == 0 {
				continue // 0 * log 0 = 0, even for x_k = -Inf
			}
			loss += a * ((m - v) + logS)
			scale += math.Abs(a) * (math.Abs(m-v) + logS + 1)
			if kl {
				loss += a * math.Log(u)
				scale += math.Abs(a * math.Log(u))
			}
		}
		if z > 0 {
			lse := m + logS
			loss += z * lse * lse
			scale += z * (lse*lse + math.Abs(lse) + 1)
		}
		rowLoss[pos], rowScale[pos] = loss, scale
	}

	denom := float64(c.positions)
	if opt.MeanBy == core.MeanByOuter {
		denom = float64(s.Outer)
	}
	var r fzResult
	r.grad = make([]float64, c.elements)
	r.gradScale = make([]float64, c.elements)
	r.gradLabels = make([]float64, c.elements)
	r.labelsScale = make([]float64, c.elements)
	fzReduce(&r, opt, gout, denom, rowLoss, rowScale, kept, func(pos int, coef float64) {
		xr, tr := fzRow(x, s, pos), fzRow(t, s, pos)
		m, sum, logS := fzRowStats(xr)
		lse := m + logS
		var total, magnitude float64
		for k := range xr {
			_, a := smoothed(tr, k)
			total += a
			magnitude += math.Abs(a)
		}
		g := make([]float64, s.Classes)
		gs := make([]float64, s.Classes)
		gl := make([]float64, s.Classes)
		ls := make([]float64, s.Classes)
		for k, v := range xr {
			u, a := smoothed(tr, k)
			factor := total
			if z > 0 {
				factor += z * (2 * lse)
			}
			p := fzSoftmaxTerm(v, m, c.f64) / sum
			g[k] = fzMulGrad(coef, fzMulGrad(p, factor)-a)
			gs[k] = math.Abs(coef) * (magnitude + 2*z*fzLSEScale(lse) + math.Abs(a))
			if math.IsNaN(logS) {
				g[k] = math.NaN()
			}

			scaleK := coef * (1 - eps) * weightOf(k)
			if scaleK == 0 {
				continue // the labels of this class do not reach the loss
			}
			d := logS - (v - m)
			ds := logS + math.Abs(v-m) + 1
			if kl {
				d += math.Log(u) + 1
				ds += math.Abs(math.Log(u)) + 1
			}
			gl[k], ls[k] = scaleK*d, math.Abs(scaleK)*ds
		}
		fzSetRow(r.grad, s, pos, g)
		fzSetRow(r.gradScale, s, pos, gs)
		fzSetRow(r.gradLabels, s, pos, gl)
		fzSetRow(r.labelsScale, s, pos, ls)
	})
	return r
}

func runDense(t *testing.T, data []byte) error {
	c := decodeDense(data)
	if c.f64 {
		return runDenseTyped[float64](t, c)
	}
	return runDenseTyped[float32](t, c)
}

func runDenseTyped[T core.Float](t *testing.T, c *fzDense) error {
	t.Helper()
	a := c.layout()
	logits := fzView[T](a, "logits")
	labels := fzView[T](a, "labels")
	weight := fzView[T](a, "weight")
	gradOutput := fzView[T](a, "grad_output")
	loss := fzView[T](a, "loss")
	grad := fzView[T](a, "grad")
	gradLabels := fzView[T](a, "grad_labels")
	for i, v := range c.logits {
		logits[i] = T(v)
	}
	for i, v := range c.weight {
		weight[i] = T(v)
	}
	for i, v := range c.gradOutput {
		gradOutput[i] = T(v)
	}
	for i, v := range c.labels {
		labels[i] = T(v)
	}
	broken := c.broken(a)
	before := a.snapshot()

	call := fmt.Sprintf("DenseCrossEntropy(f64=%v shape=%+v opt=%+v lengths=%v alias=%d)",
		c.f64, c.shape, c.opt, c.lengths, c.alias)
	err := core.DenseCrossEntropy(loss, grad, gradLabels, logits, labels, weight, gradOutput,
		c.shape, c.opt)
	fzCheckError(t, call, err, broken)
	if err != nil {
		a.checkUnchanged(t, call, before)
		return err
	}
	a.checkUnchanged(t, call, before, "loss", "grad", "grad_labels")

	want := c.reference()
	tol := fzTolerance(c.f64, c.shape.Classes)
	if len(loss) > 0 {
		fzCheckClose(t, call, "loss", loss, want.loss, want.lossScale, tol)
	}
	if len(grad) > 0 {
		fzCheckClose(t, call, "grad", grad, want.grad, want.gradScale, tol)
	}
	if len(gradLabels) > 0 {
		fzCheckClose(t, call, "grad_labels", gradLabels, want.gradLabels, want.labelsScale,
			tol)
	}
	return nil
}

// ---- Softmax family --------------------------------------------------------------

// Header layout of a softmax case (one byte each):
//
//	0 flags: 1 float64, 2 log-softmax, 64 medium size
//	1 outer   2 classes   3 inner
//	4 aliasing   5 length change   6 scale
//
// then one byte per input value: x for the forward functions, y then dy for
// the backward ones.
const fzSoftmaxHeaderLen = 7

const fzFlagLog = fzFlagWideLabels

// Aliasing layouts of the softmax cases. The forward functions use the first
// three; the backward ones all.
const (
	fzSoftmaxSeparate = iota
	fzSoftmaxOutIsX   // output is x (forward) or y (backward): valid
	fzSoftmaxOutInX   // output starts one element into x or y
	fzSoftmaxOutIsDy  // backward: output is dy, valid
	fzSoftmaxOutInDy  // backward: output starts one element into dy
	fzSoftmaxYIsDy    // backward: y and dy are one buffer, valid
	fzSoftmaxAllSame  // backward: output, y and dy are one buffer, valid
	fzSoftmaxAliasCount
)

// fzSoftmax is one decoded softmax or backward case.
type fzSoftmax struct {
	f64, log, backward bool
	shape              core.Shape
	elements           int
	shapeOK            bool
	alias              int
	x, dy              []float64 // x is y for the backward functions
	lengths            [3]int    // x (or y), output, dy
}

func decodeSoftmax(data []byte, backward bool) *fzSoftmax {
	src := newFzSource(data)
	h := make([]byte, fzSoftmaxHeaderLen)
	for i := range h {
		h[i] = src.header()
	}
	c := &fzSoftmax{
		f64:      h[0]&fzFlagF64 != 0,
		log:      h[0]&fzFlagLog != 0,
		backward: backward,
		shape:    fzShape(h[1], h[2], h[3], h[0]&fzFlagMedium != 0),
	}
	if h[4] >= 200 {
		modes := 3
		if backward {
			modes = fzSoftmaxAliasCount
		}
		c.alias = int(h[4]-200) % modes
	}
	_, c.elements, c.shapeOK = fzCounts(c.shape)
	n := c.elements
	if !c.shapeOK {
		n = 3
	}
	c.lengths = [3]int{n, n, 0}
	if backward {
		c.lengths[2] = n
	}
	buffers := 2
	if backward {
		buffers = 3
	}
	if i, d := fzLengthChange(h[5], buffers); i >= 0 {
		c.lengths[i] = max(1, c.lengths[i]+d)
	}
	scale := fzScales[h[6]%8]
	c.x = make([]float64, c.lengths[0])
	for i := range c.x {
		b, in := src.next()
		c.x[i] = fzLogit(b, in, scale)
	}
	c.dy = make([]float64, c.lengths[2])
	for i := range c.dy {
		b, in := src.next()
		c.dy[i] = fzLogit(b, in, 1)
	}
	return c
}

func (c *fzSoftmax) layout() *fzArena {
	size := 4
	if c.f64 {
		size = 8
	}
	bufs := []*fzBuffer{
		{name: "x", n: c.lengths[0], size: size},
		{name: "dy", n: c.lengths[2], size: size},
		{name: "output", n: c.lengths[1], size: size},
	}
	alias := map[string]fzAlias{}
	switch c.alias {
	case fzSoftmaxOutIsX:
		alias["output"] = fzAlias{"x", 0}
	case fzSoftmaxOutInX:
		alias["output"] = fzAlias{"x", size}
	case fzSoftmaxOutIsDy:
		alias["output"] = fzAlias{"dy", 0}
	case fzSoftmaxOutInDy:
		alias["output"] = fzAlias{"dy", size}
	case fzSoftmaxYIsDy:
		alias["dy"] = fzAlias{"x", 0}
	case fzSoftmaxAllSame:
		alias["dy"] = fzAlias{"x", 0}
		alias["output"] = fzAlias{"x", 0}
	}
	return newFzArena(bufs, alias)
}

func (c *fzSoftmax) broken(a *fzArena) []error {
	var errs []error
	if !fzShapeValid(c.shape) {
		errs = append(errs, core.ErrInvalidShape)
	}
	if !c.shapeOK {
		return append(errs, core.ErrInvalidShape)
	}
	for _, n := range c.lengths[:2] {
		if n != c.elements {
			errs = append(errs, core.ErrInvalidShape)
		}
	}
	if c.backward && c.lengths[2] != c.elements {
		errs = append(errs, core.ErrInvalidShape)
	}
	b := a.bufs
	out := []*fzBuffer{b["output"]}
	if c.backward {
		// The output may be y or dy exactly; each is checked on its own, and
		// y and dy may share memory since both are inputs.
		if fzIllegalOverlap(out, []*fzBuffer{b["x"]}, map[string][]string{"output": {"x"}}) ||
			fzIllegalOverlap(out, []*fzBuffer{b["dy"]}, map[string][]string{"output": {"dy"}}) {
			errs = append(errs, core.ErrOverlap)
		}
	} else if fzIllegalOverlap(out, []*fzBuffer{b["x"]}, map[string][]string{"output": {"x"}}) {
		errs = append(errs, core.ErrOverlap)
	}
	return errs
}

// reference returns the expected output and its scale per element.
func (c *fzSoftmax) reference() (want, scale []float64) {
	s := c.shape
	x := fzWeightsAsStored(c.x, c.f64)
	dy := fzWeightsAsStored(c.dy, c.f64)
	if c.alias == fzSoftmaxYIsDy || c.alias == fzSoftmaxAllSame {
		dy = x // one buffer: dy holds the values written last, those of y
	}
	want = make([]float64, c.elements)
	scale = make([]float64, c.elements)
	for pos := range s.Outer * s.Inner {
		xr := fzRow(x, s, pos)
		out := make([]float64, s.Classes)
		sc := make([]float64, s.Classes)
		switch {
		case c.backward && c.log:
			var magnitude float64
			for _, d := range fzRow(dy, s, pos) {
				magnitude += math.Abs(d)
			}
			total := fzExactSum(fzRow(dy, s, pos))
			for k, d := range fzRow(dy, s, pos) {
				e := math.Exp(xr[k])
				out[k] = d - e*total
				sc[k] = math.Abs(d) + e*magnitude
			}
		case c.backward:
			dr := fzRow(dy, s, pos)
			products := make([]float64, len(dr))
			var magnitude float64
			for k, d := range dr {
				products[k] = d * xr[k]
				magnitude += math.Abs(products[k])
			}
			dot := fzExactSum(products)
			for k, d := range dr {
				out[k] = xr[k] * (d - dot)
				sc[k] = math.Abs(xr[k]) * (math.Abs(d) + magnitude)
			}
		default:
			m, sum, logS := fzRowStats(xr)
			for k, v := range xr {
				if c.log {
					out[k] = (v - m) - logS
					sc[k] = math.Abs(v-m) + logS + 1
				} else {
					out[k] = math.Exp(v-m) / sum
					if out[k] != 0 {
						sc[k] = out[k] * (2 + math.Abs(v-m))
					}
				}
				if math.IsNaN(logS) {
					out[k] = math.NaN()
				}
			}
		}
		fzSetRow(want, s, pos, out)
		fzSetRow(scale, s, pos, sc)
	}
	return want, scale
}

func runSoftmax(t *testing.T, data []byte, backward bool) error {
	c := decodeSoftmax(data, backward)
	if c.f64 {
		return runSoftmaxTyped[float64](t, c)
	}
	return runSoftmaxTyped[float32](t, c)
}

func runSoftmaxTyped[T core.Float](t *testing.T, c *fzSoftmax) error {
	t.Helper()
	a := c.layout()
	out := fzView[T](a, "output")
	x := fzView[T](a, "x")
	dy := fzView[T](a, "dy")
	for i, v := range c.dy {
		dy[i] = T(v)
	}
	for i, v := range c.x {
		x[i] = T(v)
	}
	broken := c.broken(a)
	before := a.snapshot()

	name := map[[2]bool]string{{false, false}: "Softmax", {false, true}: "LogSoftmax",
		{true, false}: "SoftmaxBackward", {true, true}: "LogSoftmaxBackward"}[[2]bool{
		c.backward, c.log}]
	call := fmt.Sprintf("%s(f64=%v shape=%+v lengths=%v alias=%d)", name, c.f64, c.shape,
		c.lengths, c.alias)
	var err error
	switch name {
	case "Softmax":
		err = core.Softmax(out, x, c.shape)
	case "LogSoftmax":
		err = core.LogSoftmax(out, x, c.shape)
	case "SoftmaxBackward":
		err = core.SoftmaxBackward(out, x, dy, c.shape)
	default:
		err = core.LogSoftmaxBackward(out, x, dy, c.shape)
	}
	fzCheckError(t, call, err, broken)
	if err != nil {
		a.checkUnchanged(t, call, before)
		return err
	}
	a.checkUnchanged(t, call, before, "output")
	want, scale := c.reference()
	if len(out) > 0 {
		fzCheckClose(t, call, "output", out, want, scale, fzTolerance(c.f64, c.shape.Classes))
	}
	return nil
}

// ---- Fuzz targets ----------------------------------------------------------------

func FuzzSparseCrossEntropy(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { runSparse(t, data, fzSparseFused) })
}

func FuzzSparseForward(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { runSparse(t, data, fzSparseForward) })
}

func FuzzSparseBackward(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { runSparse(t, data, fzSparseBackward) })
}

func FuzzDenseCrossEntropy(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { runDense(t, data) })
}

func FuzzSoftmax(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { runSoftmax(t, data, false) })
}

func FuzzSoftmaxBackward(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) { runSoftmax(t, data, true) })
}

// ---- Seeds -------------------------------------------------------------------------

// Special bytes of the value tables, by meaning.
const (
	fzLabelMinusOne     = fzLabelSpecial + 0
	fzLabelClasses      = fzLabelSpecial + 1
	fzLabelMinus100     = fzLabelSpecial + 3
	fzLabelIgnoreIndex  = fzLabelSpecial + 4
	fzLabel2Pow32Plus1  = fzLabelSpecial + 5 // int32 labels: MaxInt32
	fzLabel2Pow31       = fzLabelSpecial + 6 // int32 labels: MinInt32
	fzLabelMinInt       = fzLabelSpecial + 7
	fzLabel2Pow32       = fzLabelSpecial + 9
	fzLabelTwiceClasses = fzLabelSpecial + 11

	fzLogitPosInf   = fzLogitSpecial + 0
	fzLogitNegInf   = fzLogitSpecial + 1
	fzLogitNaN      = fzLogitSpecial + 2
	fzLogitHuge     = fzLogitSpecial + 3 // 1e30
	fzLogitMinus100 = fzLogitSpecial + 22

	fzWeightNaN     = fzWeightSpecial + 0
	fzWeightPosInf  = fzWeightSpecial + 1
	fzWeightNegInf  = fzWeightSpecial + 2
	fzWeightMinus1  = fzWeightSpecial + 3
	fzWeightNegZero = fzWeightSpecial + 4
	fzWeightZero    = fzWeightSpecial + 9
	fzWeightOne     = 32

	fzReductionNone    = 0
	fzReductionSum     = 1
	fzReductionMean    = 2
	fzReductionThree   = 252
	fzReductionMinus1  = 253
	fzSmoothingNaN     = 240
	fzSmoothingMinus   = 241 // -0.1
	fzSmoothingAbove1  = 242 // 1.5
	fzSmoothingInf     = 243
	fzSmoothingOne     = 246
	fzSmoothingNextUp1 = 249 // the float64 after 1
	fzZLossNaN         = 248
	fzZLossMinus       = 249
	fzZLossInf         = 250
	fzZLossMax         = 251 // math.MaxFloat64
	fzMeanByFour       = 252
	fzFlagsKL          = 250
	fzFlagsBitTwo      = 251

	fzOuterMinus1    = 250
	fzOuter2Pow62    = 252
	fzOuterMaxInt    = 253
	fzClassesZero    = 250
	fzClassesMinus1  = 251
	fzClasses2Pow62  = 253
	fzClasses65537   = 255
	fzInnerMinus1    = 250
	fzInnerMaxInt    = 255
	fzIgnoreMinus1   = 2
	fzIgnoreZero     = 3
	fzIgnoreAbove    = 6 // classes + 7
	fzIgnore2Pow32P1 = 7
)

// fzLengthByte returns the header byte that changes the length of buffer
// index (in the case's buffer order) by delta (+1 or -1).
func fzLengthByte(index, delta, buffers int) byte {
	k := index
	if delta < 0 {
		k += buffers
	}
	return byte(220 + k)
}

func fzAliasByte(mode int) byte { return byte(200 + mode) }

// fzSpec describes a cross-entropy seed field by field. Zero fields give a
// valid case: float32, int32 labels, reduction none, shape (3, 4, 1).
type fzSpec struct {
	flags                                    byte
	reduction                                byte
	outer, classes, inner                    byte
	ignore, smoothing, zLoss, meanBy, flags2 byte
	alias, length, scale                     byte
	labels, weights, gradOutput, logits      []byte
	dense                                    bool
}

// encode returns the fuzz bytes of s. Value segments shorter than the case
// needs are padded with ordinary values (labels 0, 1, 2, ..., weights and
// grad_output 1, dense labels 0.25) so that the next segment starts where the
// decoder reads it; the logits come last and are left to the generator.
func (s fzSpec) encode() []byte {
	outer, classes, inner := s.outer, s.classes, s.inner
	if outer == 0 && classes == 0 && inner == 0 {
		outer, classes, inner = 3, 4, 1
	}
	header := []byte{s.flags, s.reduction, outer, classes, inner, s.ignore, s.smoothing,
		s.zLoss, s.meanBy, s.flags2, s.alias, s.length, s.scale}
	pad := func(segment []byte, n int, fill func(i int) byte) []byte {
		out := append([]byte(nil), segment...)
		for i := len(out); i < n; i++ {
			out = append(out, fill(i))
		}
		return out
	}
	one := func(int) byte { return fzWeightOne }
	seed := append([]byte(nil), header...)
	if s.dense {
		c := decodeDense(header)
		seed = append(seed, pad(s.weights, c.lengths[2], one)...)
		seed = append(seed, pad(s.gradOutput, c.lengths[3], func(int) byte { return 144 })...)
		seed = append(seed, pad(s.labels, c.lengths[1], func(int) byte { return 32 })...)
		return append(seed, s.logits...)
	}
	c := decodeSparse(header)
	seed = append(seed, pad(s.labels, c.lengths[1], func(i int) byte { return byte(i % 200) })...)
	seed = append(seed, pad(s.weights, c.lengths[2], one)...)
	seed = append(seed, pad(s.gradOutput, c.lengths[3], func(int) byte { return 144 })...)
	return append(seed, s.logits...)
}

// fzSoftmaxSpec describes a softmax seed; zero fields give float32 softmax
// of shape (3, 4, 1).
type fzSoftmaxSpec struct {
	flags, outer, classes, inner, alias, length, scale byte
	values                                             []byte
}

func (s fzSoftmaxSpec) encode() []byte {
	outer, classes, inner := s.outer, s.classes, s.inner
	if outer == 0 && classes == 0 && inner == 0 {
		outer, classes, inner = 3, 4, 1
	}
	seed := []byte{s.flags, outer, classes, inner, s.alias, s.length, s.scale}
	return append(seed, s.values...)
}

// fzHostile is one case of the hostile-input table: an input, the sentinel
// error it must return (nil when it is valid) and words its message must
// contain: the argument, the offending value and what is valid.
type fzHostile struct {
	name   string
	target string // "sparse", "dense", "softmax" or "backward"
	input  []byte
	want   error
	words  []string
}

// Buffer indices for fzLengthByte.
const (
	fzSparseLogits, fzSparseLabels, fzSparseWeight, fzSparseGradOutput = 0, 1, 2, 3
	fzSparseLoss, fzSparseGrad                                         = 4, 5
	fzDenseLabels, fzDenseGradLabels                                   = 1, 6
)

func fzHostileCases() []fzHostile {
	sparse := func(name string, s fzSpec, want error, words ...string) fzHostile {
		return fzHostile{name, "sparse", s.encode(), want, words}
	}
	dense := func(name string, s fzSpec, want error, words ...string) fzHostile {
		s.dense = true
		return fzHostile{name, "dense", s.encode(), want, words}
	}
	softmax := func(name, target string, s fzSoftmaxSpec, want error,
		words ...string) fzHostile {
		return fzHostile{name, target, s.encode(), want, words}
	}
	label := core.ErrLabelOutOfRange
	shape := core.ErrInvalidShape
	arg := core.ErrInvalidArgument
	overlap := core.ErrOverlap
	wide := byte(fzFlagWideLabels)
	weighted := byte(fzFlagWeighted)
	gradOut := byte(fzFlagGradOutput)
	sl := func(index, delta int) byte { return fzLengthByte(index, delta, 6) }
	dl := func(index, delta int) byte { return fzLengthByte(index, delta, 7) }

	return []fzHostile{
		// Labels.
		sparse("label-equal-to-classes", fzSpec{labels: []byte{0, fzLabelClasses, 2}},
			label, "label value 4", "position 1", "[0, 4)"),
		sparse("label-twice-classes", fzSpec{labels: []byte{fzLabelTwiceClasses}},
			label, "8", "position 0", "[0, 4)"),
		sparse("label-minus-one", fzSpec{labels: []byte{1, 2, fzLabelMinusOne}},
			label, "-1", "position 2", "[0, 4)"),
		sparse("label-int64-2pow32-plus-1", fzSpec{flags: wide,
			labels: []byte{0, fzLabel2Pow32Plus1}}, label, "4294967297", "[0, 4)"),
		sparse("label-int64-2pow32", fzSpec{flags: wide, labels: []byte{fzLabel2Pow32}},
			label, "4294967296", "[0, 4)"),
		sparse("label-int64-2pow31", fzSpec{flags: wide, labels: []byte{fzLabel2Pow31}},
			label, "2147483648", "[0, 4)"),
		sparse("label-int64-min", fzSpec{flags: wide, labels: []byte{fzLabelMinInt}},
			label, "-9223372036854775808", "[0, 4)"),
		sparse("label-int32-max", fzSpec{labels: []byte{fzLabel2Pow32Plus1}},
			label, "2147483647", "[0, 4)"),
		sparse("label-int32-min", fzSpec{labels: []byte{fzLabel2Pow31}},
			label, "-2147483648", "[0, 4)"),
		sparse("label-default-ignore-value-not-ignored", fzSpec{ignore: fzIgnoreMinus1,
			labels: []byte{fzLabelMinus100}}, label, "-100", "ignore index -1"),
		sparse("label-out-of-range-in-k-dim", fzSpec{outer: 2, classes: 3, inner: 2,
			labels: []byte{0, 1, 2, fzLabelClasses}}, label, "label value 3",
			"position 3", "[0, 3)"),
		sparse("ignore-index-above-classes", fzSpec{ignore: fzIgnoreAbove,
			labels: []byte{fzLabelIgnoreIndex, 1, fzLabelIgnoreIndex}}, nil),
		sparse("ignore-index-2pow32-plus-1", fzSpec{flags: wide, ignore: fzIgnore2Pow32P1,
			reduction: fzReductionMean, labels: []byte{fzLabelIgnoreIndex, 3, 0}}, nil),
		sparse("ignore-index-a-class", fzSpec{ignore: fzIgnoreZero,
			reduction: fzReductionMean, labels: []byte{0, 1, 0}}, nil),
		sparse("ignored-row-holds-nan", fzSpec{ignore: fzIgnoreMinus1,
			labels: []byte{fzLabelIgnoreIndex, 1, 2},
			logits: []byte{fzLogitNaN, fzLogitPosInf, fzLogitNegInf, fzLogitNaN}}, nil),

		// Class weights.
		sparse("weight-nan", fzSpec{flags: weighted, weights: []byte{32, fzWeightNaN}},
			arg, "weight[1]", "NaN", ">= 0"),
		sparse("weight-plus-inf", fzSpec{flags: weighted, weights: []byte{fzWeightPosInf}},
			arg, "weight[0]", "+Inf", "finite"),
		sparse("weight-minus-inf", fzSpec{flags: weighted,
			weights: []byte{32, 32, 32, fzWeightNegInf}}, arg, "weight[3]", "-Inf"),
		sparse("weight-negative", fzSpec{flags: weighted,
			weights: []byte{32, 32, fzWeightMinus1}}, arg, "weight[2] = -1", ">= 0"),
		sparse("weight-negative-zero", fzSpec{flags: weighted, reduction: fzReductionMean,
			weights: []byte{fzWeightNegZero, 32, 32, 32}}, nil),
		sparse("weight-all-zero-mean", fzSpec{flags: weighted, reduction: fzReductionMean,
			weights: []byte{fzWeightZero, fzWeightZero, fzWeightZero, fzWeightZero}}, nil),
		sparse("weight-one-short", fzSpec{flags: weighted,
			length: sl(fzSparseWeight, -1)}, shape, "weight has 3 elements", "4"),
		sparse("weight-one-long", fzSpec{flags: weighted,
			length: sl(fzSparseWeight, +1)}, shape, "weight has 5 elements", "4"),

		// Options.
		sparse("label-smoothing-nan", fzSpec{smoothing: fzSmoothingNaN},
			arg, "label_smoothing NaN", "[0, 1]"),
		sparse("label-smoothing-negative", fzSpec{smoothing: fzSmoothingMinus},
			arg, "label_smoothing -0.1", "[0, 1]"),
		sparse("label-smoothing-above-one", fzSpec{smoothing: fzSmoothingAbove1},
			arg, "label_smoothing 1.5", "[0, 1]"),
		sparse("label-smoothing-inf", fzSpec{smoothing: fzSmoothingInf},
			arg, "label_smoothing +Inf", "[0, 1]"),
		sparse("label-smoothing-next-after-one", fzSpec{smoothing: fzSmoothingNextUp1},
			arg, "label_smoothing 1.0000000000000002", "[0, 1]"),
		sparse("label-smoothing-one", fzSpec{smoothing: fzSmoothingOne,
			reduction: fzReductionSum}, nil),
		sparse("z-loss-nan", fzSpec{zLoss: fzZLossNaN}, arg, "z_loss NaN", ">= 0"),
		sparse("z-loss-negative", fzSpec{zLoss: fzZLossMinus}, arg, "z_loss -0.0001",
			">= 0"),
		sparse("z-loss-inf", fzSpec{zLoss: fzZLossInf}, arg, "z_loss +Inf", "finite"),
		sparse("reduction-three", fzSpec{reduction: fzReductionThree},
			arg, "reduction 3", "0 (none)", "2 (mean)"),
		sparse("reduction-minus-one", fzSpec{reduction: fzReductionMinus1},
			arg, "reduction -1"),
		sparse("mean-by-four", fzSpec{meanBy: fzMeanByFour}, arg, "mean_by 4",
			"3 (positions)"),
		sparse("flags-kl-on-integer-labels", fzSpec{flags2: fzFlagsKL}, arg, "flags 1"),
		sparse("flags-unknown-bit", fzSpec{flags2: fzFlagsBitTwo}, arg, "flags 2"),

		// Shapes and lengths.
		sparse("classes-zero", fzSpec{outer: 3, classes: fzClassesZero, inner: 1},
			shape, "classes 0", ">= 1"),
		sparse("classes-negative", fzSpec{outer: 3, classes: fzClassesMinus1, inner: 1},
			shape, "classes -1", ">= 1"),
		sparse("outer-negative", fzSpec{outer: fzOuterMinus1, classes: 4, inner: 1},
			shape, "outer -1", ">= 0"),
		sparse("inner-negative", fzSpec{outer: 3, classes: 4, inner: fzInnerMinus1},
			shape, "inner -1", ">= 0"),
		sparse("outer-times-classes-overflows", fzSpec{outer: fzOuter2Pow62, classes: 4,
			inner: 1}, shape, "4611686018427387904", "overflows"),
		sparse("outer-times-inner-overflows", fzSpec{outer: fzOuterMaxInt, classes: 4,
			inner: fzInnerMaxInt}, shape, "9223372036854775807", "overflows"),
		sparse("classes-2pow62", fzSpec{outer: 3, classes: fzClasses2Pow62, inner: 1},
			shape, "4611686018427387904", "overflows"),
		sparse("empty-batch-mean", fzSpec{outer: 0, classes: 4, inner: 1,
			reduction: fzReductionMean}, nil),
		sparse("empty-spatial-sum", fzSpec{outer: 3, classes: 4, inner: 0,
			reduction: fzReductionSum}, nil),
		sparse("classes-65537", fzSpec{outer: 2, classes: fzClasses65537, inner: 1,
			reduction: fzReductionMean}, nil),
		sparse("logits-one-short", fzSpec{length: sl(fzSparseLogits, -1)},
			shape, "logits has 11 elements", "12"),
		sparse("logits-one-long", fzSpec{length: sl(fzSparseLogits, +1)},
			shape, "logits has 13 elements", "12"),
		sparse("labels-one-short", fzSpec{length: sl(fzSparseLabels, -1)},
			shape, "labels has 2 elements", "3"),
		sparse("loss-one-short-for-none", fzSpec{length: sl(fzSparseLoss, -1)},
			shape, "loss has 2 elements", "3"),
		sparse("loss-two-for-sum", fzSpec{reduction: fzReductionSum,
			length: sl(fzSparseLoss, +1)}, shape, "loss has 2 elements", "want 1"),
		sparse("grad-one-long", fzSpec{length: sl(fzSparseGrad, +1)},
			shape, "grad has 13 elements", "12"),
		sparse("grad-output-one-long-for-none", fzSpec{flags: gradOut,
			length: sl(fzSparseGradOutput, +1)}, shape, "grad_output has 4 elements", "3"),
		sparse("grad-output-two-for-mean", fzSpec{flags: gradOut,
			reduction: fzReductionMean, length: sl(fzSparseGradOutput, +1)},
			shape, "grad_output has 2 elements", "want 1"),

		// Aliasing.
		sparse("grad-is-logits", fzSpec{flags: weighted | gradOut,
			reduction: fzReductionMean, alias: fzAliasByte(fzAliasGradIsLogits)}, nil),
		sparse("grad-one-element-into-logits",
			fzSpec{alias: fzAliasByte(fzAliasGradShifted)},
			overlap, "grad", "partially overlaps logits"),
		sparse("grad-overlaps-labels", fzSpec{alias: fzAliasByte(fzAliasLabelsInGrad)},
			overlap, "grad overlaps labels"),
		sparse("grad-overlaps-weight", fzSpec{flags: weighted,
			alias: fzAliasByte(fzAliasWeightInGrad)}, overlap, "grad overlaps weight"),
		sparse("grad-overlaps-grad-output", fzSpec{flags: gradOut,
			alias: fzAliasByte(fzAliasGradOutInGrad)}, overlap, "grad overlaps grad_output"),
		sparse("loss-inside-logits", fzSpec{alias: fzAliasByte(fzAliasLossInLogits)},
			overlap, "loss overlaps logits"),
		sparse("loss-inside-grad", fzSpec{alias: fzAliasByte(fzAliasLossInGrad)},
			overlap, "loss overlaps grad"),
		sparse("loss-is-grad-output", fzSpec{flags: gradOut,
			alias: fzAliasByte(fzAliasGradOutIsLoss)}, overlap, "loss overlaps grad_output"),
		sparse("loss-inside-labels", fzSpec{alias: fzAliasByte(fzAliasLossInLabels)},
			overlap, "loss overlaps labels"),

		// Values.
		sparse("label-logit-neg-inf", fzSpec{reduction: fzReductionSum,
			labels: []byte{0, 1, 2}, logits: []byte{fzLogitNegInf, 100, 120, 130}}, nil),
		sparse("row-all-neg-inf", fzSpec{labels: []byte{0, 1, 2},
			logits: []byte{fzLogitNegInf, fzLogitNegInf, fzLogitNegInf, fzLogitNegInf}}, nil),
		sparse("huge-equal-logits", fzSpec{flags: fzFlagF64, classes: 2, outer: 1, inner: 1,
			labels: []byte{0}, logits: []byte{fzLogitHuge, fzLogitHuge}}, nil),
		sparse("zero-weight-label-neg-inf-smoothed", fzSpec{flags: weighted,
			smoothing: 180, labels: []byte{0}, weights: []byte{fzWeightZero, 32, 32, 32},
			logits: []byte{fzLogitNegInf, 100, 110, 120}}, nil),

		// z_loss = MaxFloat64 makes 2*z*lse overflow to ±Inf, and a zero
		// softmax value or upstream gradient times it must give 0, not NaN.
		sparse("z-loss-max-label-logit-neg-inf", fzSpec{zLoss: fzZLossMax,
			reduction: fzReductionSum, labels: []byte{0, 1, 2},
			logits: []byte{fzLogitNegInf, 100, 120, 130}}, nil),
		sparse("z-loss-max-grad-output-zero", fzSpec{flags: fzFlagF64 | gradOut,
			zLoss: fzZLossMax, gradOutput: []byte{128, 128, 128},
			logits: bytes.Repeat([]byte{124}, 12)}, nil),
		sparse("z-loss-max-lse-zero", fzSpec{outer: 3, classes: 1, inner: 1,
			zLoss: fzZLossMax, logits: []byte{116, 116, 116}}, nil),
		sparse("z-loss-max-in-place-flushed-exp", fzSpec{zLoss: fzZLossMax,
			alias: fzAliasByte(fzAliasGradIsLogits), labels: []byte{0, 1, 2},
			logits: []byte{124, fzLogitMinus100, fzLogitNegInf, 130}}, nil),

		// Dense labels.
		dense("dense-ignore-index", fzSpec{ignore: 253}, arg, "ignore_index 0"),
		dense("dense-mean-by-weight-sum", fzSpec{meanBy: 252}, arg, "mean_by 0",
			"3 (positions)", "2 (outer)"),
		dense("dense-flags-unknown-bit", fzSpec{flags2: 250}, arg, "flags 2"),
		dense("dense-labels-one-short", fzSpec{length: dl(fzDenseLabels, -1)},
			shape, "labels has 11 elements", "12"),
		dense("dense-grad-labels-one-long", fzSpec{length: dl(fzDenseGradLabels, +1)},
			shape, "grad_labels has 13 elements", "12"),
		dense("dense-weight-nan", fzSpec{flags: weighted, weights: []byte{fzWeightNaN}},
			arg, "weight[0]", "NaN"),
		dense("dense-grad-labels-is-labels",
			fzSpec{alias: fzAliasByte(fzAliasGradLabelsLabel)},
			overlap, "grad_labels overlaps labels"),
		dense("dense-grad-labels-is-grad", fzSpec{alias: fzAliasByte(fzAliasGradLabelsGrad)},
			overlap, "grad overlaps grad_labels"),
		dense("dense-grad-is-labels", fzSpec{alias: fzAliasByte(fzAliasLabelsInGrad)},
			overlap, "grad overlaps labels"),
		dense("dense-kl-in-place", fzSpec{flags2: 1, reduction: fzReductionMean,
			alias: fzAliasByte(fzAliasGradIsLogits)}, nil),
		dense("dense-zero-label-on-neg-inf", fzSpec{flags2: 1, reduction: fzReductionSum,
			labels: []byte{0, 128, 0, 0}, logits: []byte{fzLogitNegInf, 100, 120, 130}}, nil),
		dense("dense-z-loss-max-zero-label-on-neg-inf", fzSpec{zLoss: fzZLossMax,
			reduction: fzReductionSum, labels: []byte{0, 128, 0, 0},
			logits: []byte{fzLogitNegInf, 100, 120, 130}}, nil),
		dense("dense-z-loss-max-grad-output-zero", fzSpec{flags: gradOut,
			zLoss: fzZLossMax, gradOutput: []byte{128, 128, 128},
			logits: bytes.Repeat([]byte{124}, 12)}, nil),
		dense("dense-z-loss-max-lse-zero", fzSpec{outer: 3, classes: 1, inner: 1,
			zLoss: fzZLossMax, labels: []byte{128, 128, 128}, logits: []byte{116, 116, 116}},
			nil),

		// Softmax family.
		softmax("softmax-output-one-element-into-x", "softmax",
			fzSoftmaxSpec{alias: 200 + fzSoftmaxOutInX}, overlap, "partially overlaps x"),
		softmax("softmax-classes-zero", "softmax",
			fzSoftmaxSpec{outer: 3, classes: fzClassesZero, inner: 1}, shape, "classes 0"),
		softmax("softmax-output-one-short", "softmax", fzSoftmaxSpec{length: 220 + 2 + 1},
			shape, "output has 11 elements", "12"),
		softmax("log-softmax-in-place", "softmax",
			fzSoftmaxSpec{flags: fzFlagLog, alias: 200 + fzSoftmaxOutIsX}, nil),
		softmax("softmax-backward-output-into-dy", "backward",
			fzSoftmaxSpec{alias: 200 + fzSoftmaxOutInDy}, overlap, "partially overlaps dy"),
		softmax("softmax-backward-dy-one-short", "backward",
			fzSoftmaxSpec{length: 220 + 3 + 2}, shape, "dy has 11 elements", "12"),
		softmax("log-softmax-backward-all-one-buffer", "backward",
			fzSoftmaxSpec{flags: fzFlagLog, alias: 200 + fzSoftmaxAllSame}, nil),
	}
}

// fzOrdinarySeeds returns valid seeds that cover the options and layouts,
// for the fuzzer to start from.
func fzOrdinarySeeds() map[string][]fzSpec {
	medium := byte(fzFlagMedium)
	var sparse, dense []fzSpec
	for i, flags := range []byte{0, fzFlagF64, fzFlagWideLabels | fzFlagWeighted,
		fzFlagF64 | fzFlagGradOutput, medium, medium | fzFlagF64 | fzFlagWeighted} {
		s := fzSpec{flags: flags, reduction: byte(i % 3), outer: byte(1 + i),
			classes: byte(2 + 5*i), inner: byte(1 + i%3), smoothing: byte(100 + 25*i),
			zLoss: byte(190 + 5*i), meanBy: byte(i), ignore: byte(i % 4), scale: byte(i)}
		sparse = append(sparse, s)
		s.dense, s.ignore, s.flags2, s.meanBy = true, 0, byte(i%2), byte(i)
		dense = append(dense, s)
	}
	return map[string][]fzSpec{"sparse": sparse, "dense": dense}
}

// fzCorpus returns the seed corpus of every fuzz target: file name to input.
func fzCorpus() map[string]map[string][]byte {
	corpus := map[string]map[string][]byte{}
	add := func(target, name string, input []byte) {
		if corpus[target] == nil {
			corpus[target] = map[string][]byte{}
		}
		corpus[target][name] = input
	}
	targets := map[string][]string{
		"sparse":   {"FuzzSparseCrossEntropy", "FuzzSparseForward", "FuzzSparseBackward"},
		"dense":    {"FuzzDenseCrossEntropy"},
		"softmax":  {"FuzzSoftmax"},
		"backward": {"FuzzSoftmaxBackward"},
	}
	for _, h := range fzHostileCases() {
		for _, target := range targets[h.target] {
			add(target, h.name, h.input)
		}
	}
	for kind, specs := range fzOrdinarySeeds() {
		for i, s := range specs {
			for _, target := range targets[kind] {
				add(target, fmt.Sprintf("ordinary-%d", i), s.encode())
			}
		}
	}
	for i, flags := range []byte{0, fzFlagF64, fzFlagLog, fzFlagLog | fzFlagF64 | fzFlagMedium} {
		s := fzSoftmaxSpec{flags: flags, outer: byte(2 + i), classes: byte(3 + 7*i),
			inner: byte(1 + i%3), scale: byte(i)}
		add("FuzzSoftmax", fmt.Sprintf("ordinary-%d", i), s.encode())
		add("FuzzSoftmaxBackward", fmt.Sprintf("ordinary-%d", i), s.encode())
	}
	return corpus
}

// fzCorpusFile returns the content of a corpus file holding one []byte.
func fzCorpusFile(input []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(input)) + ")\n")
}

// TestFuzzSeedCorpus checks that every seed of the tables above is committed
// under testdata/fuzz, and writes them when SOFTMAXCE_WRITE_FUZZ_CORPUS=1.
// Other files there (inputs the fuzzer found) are left alone.
func TestFuzzSeedCorpus(t *testing.T) {
	write := os.Getenv("SOFTMAXCE_WRITE_FUZZ_CORPUS") == "1"
	for target, files := range fzCorpus() {
		dir := filepath.Join("testdata", "fuzz", target)
		if write {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, input := range files {
			path := filepath.Join(dir, name)
			want := fzCorpusFile(input)
			if write {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("seed %s is missing or stale (%v); regenerate the corpus with "+
					"SOFTMAXCE_WRITE_FUZZ_CORPUS=1 go test -run TestFuzzSeedCorpus ./core",
					path, err)
			}
		}
	}
}

// TestHostileInputs runs the hostile-input table: every case keeps the error
// contract checked by the fuzz targets, returns its sentinel error and names
// the argument, the value and what is valid.
func TestHostileInputs(t *testing.T) {
	for _, h := range fzHostileCases() {
		t.Run(h.target+"/"+h.name, func(t *testing.T) {
			var err error
			switch h.target {
			case "sparse":
				err = runSparse(t, h.input, fzSparseFused)
			case "dense":
				err = runDense(t, h.input)
			case "softmax":
				err = runSoftmax(t, h.input, false)
			case "backward":
				err = runSoftmax(t, h.input, true)
			}
			if h.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, h.want) {
				t.Fatalf("error = %v, want one wrapping %q", err, h.want)
			}
			for _, word := range h.words {
				if !strings.Contains(err.Error(), word) {
					t.Errorf("message %q does not contain %q", err, word)
				}
			}
		})
	}
}
