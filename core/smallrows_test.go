package core

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// Tests of the batch kernels for short rows: the pure-Go reference against
// the definition written out in this file, and every kernel this CPU
// supports against the pure-Go reference, bit for bit, with guard regions
// around every buffer.

// smallRowsBatch is a batch of rows of c classes with their labels.
type smallRowsBatch[T Float] struct {
	name string
	c    int
	x    []T
	ys   []int32
}

func smallRowMax[T Float]() int {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return smallRowMax32
	}
	return smallRowMax64
}

// smallRowsBatches returns the test batches of rows of c classes:
//
//   - "patterns": the row patterns of the row-kernel tests (rowContents)
//     with every label position, each as drawn, with the label's logit
//     raised to the row's maximum, and with a tie of two elements at the
//     maximum. Rows of split and whole sums alternate within the batch.
//   - "specials": rows of zeros of both signs, the largest and smallest
//     magnitudes of T, spreads that underflow exp, and NaN and ±Inf at and
//     away from the label, with every label position.
func smallRowsBatches[T Float](r *rand.Rand, c int) []smallRowsBatch[T] {
	patterns := smallRowsBatch[T]{name: "patterns", c: c}
	for y := range c {
		contents := rowContents(r, c)
		for _, name := range slices.Sorted(maps.Keys(contents)) {
			row := make([]T, c)
			for j, v := range contents[name] {
				row[j] = T(v)
			}
			patterns.add(row, y)

			// The label at the maximum splits the sum when it is finite.
			raised := slices.Clone(row)
			raised[y] = definedMax(row)
			patterns.add(raised, y)

			if c > 1 {
				tie := slices.Clone(raised)
				tie[(y+1)%c] = raised[y]
				patterns.add(tie, y)
			}
		}
	}

	specials := smallRowsBatch[T]{name: "specials", c: c}
	for _, fill := range smallRowSpecials[T](r) {
		for y := range c {
			row := make([]T, c)
			for j := range row {
				row[j] = fill(j, y, c)
			}
			specials.add(row, y)
		}
	}
	return []smallRowsBatch[T]{patterns, specials}
}

func (b *smallRowsBatch[T]) add(row []T, y int) {
	b.x = append(b.x, row...)
	b.ys = append(b.ys, int32(y))
}

// smallRowSpecials returns functions that give element j of a special row
// of c classes with label y.
func smallRowSpecials[T Float](r *rand.Rand) []func(j, y, c int) T {
	inf, nan := T(math.Inf(1)), T(math.NaN())
	negZero := T(math.Copysign(0, -1))
	huge := T(maxFinite[T]())
	tiny := T(math.SmallestNonzeroFloat32) // the smallest subnormal of T
	if _, ok := any(huge).(float64); ok {
		tiny = T(math.SmallestNonzeroFloat64)
	}
	// exp(v) for v in [underflow-1, underflow+0.05] is near the smallest
	// normal number or below it, where the kernels flush it to +0.
	underflow := math.Log(0x1p-126)
	if _, ok := any(huge).(float64); ok {
		underflow = math.Log(0x1p-1022)
	}
	sign := func() T {
		if r.IntN(2) == 0 {
			return -1
		}
		return 1
	}
	return []func(j, y, c int) T{
		func(j, y, c int) T { return 0 },
		func(j, y, c int) T { return negZero },
		// -0 everywhere but one +0, at the label or after it
		func(j, y, c int) T {
			if j == y {
				return 0
			}
			return negZero
		},
		func(j, y, c int) T {
			if j == (y+1)%c {
				return 0
			}
			return negZero
		},
		// a maximum of -0 at the label, negative elsewhere
		func(j, y, c int) T {
			if j == y {
				return negZero
			}
			return -T(r.ExpFloat64())
		},
		func(j, y, c int) T { return sign() * huge },
		func(j, y, c int) T { return sign() * huge * T(r.Float64()) },
		func(j, y, c int) T { return sign() * tiny * T(1+r.IntN(4)) },
		// 0 at the label and steps of -30: exp underflows to +0
		func(j, y, c int) T { return T(-30 * math.Abs(float64(j-y))) },
		func(j, y, c int) T { return T(-1e-3 * float64(j)) },
		func(j, y, c int) T {
			if j == y {
				return 0
			}
			return T(underflow + 0.05 - 1.05*r.Float64())
		},
		func(j, y, c int) T {
			if j == y {
				return inf
			}
			return T(r.NormFloat64())
		},
		func(j, y, c int) T {
			if j == y {
				return -inf
			}
			return T(r.NormFloat64())
		},
		func(j, y, c int) T {
			if j == y {
				return nan
			}
			return T(r.NormFloat64())
		},
		// NaN away from the label, which holds the maximum
		func(j, y, c int) T {
			switch {
			case j == y:
				return 5
			case j%3 == 0:
				return nan
			}
			return T(r.NormFloat64())
		},
		func(j, y, c int) T { return nan },
		func(j, y, c int) T {
			if j == y {
				return -inf
			}
			return nan
		},
		func(j, y, c int) T {
			if j%2 == 0 {
				return -inf
			}
			return inf
		},
	}
}

// definedMax returns the maximum of row by its definition: NaN ignored,
// -Inf when nothing else is left, and +0 over -0 when both are present.
func definedMax[T Float](row []T) T {
	m := T(math.Inf(-1))
	for _, v := range row {
		if v > m {
			m = v
		}
	}
	if m == 0 {
		m = T(math.Copysign(0, -1))
		for _, v := range row {
			if v == 0 && !math.Signbit(float64(v)) {
				m = 0
			}
		}
	}
	return m
}

func definedExp[T Float](v T) T {
	switch v := any(v).(type) {
	case float32:
		return T(exp32(v))
	case float64:
		return T(exp64(v))
	}
	panic("unreachable")
}

// definedSum adds e with a fresh set of partial sums in T, element j to
// partial j % P (P = 64 for float32, 32 for float64), and combines the
// partials pairwise: partial k plus partial k + n/2 while n > 1.
func definedSum[T Float](e []T) float64 {
	acc := make([]T, 64)
	if _, ok := any(e).([]float64); ok {
		acc = make([]T, 32)
	}
	for j, v := range e {
		acc[j%len(acc)] += v
	}
	for n := len(acc) / 2; n >= 1; n /= 2 {
		for k := range n {
			acc[k] += acc[k+n]
		}
	}
	return float64(acc[0])
}

// rowStatsOutput is what rowStats32 or rowStats64 wrote for one batch.
type rowStatsOutput[T Float] struct {
	m       []T
	s, rest []float64
	split   []bool
	exps    []T    // dst after the call, nil without dst
	damage  string // the buffers written outside their bounds, changed or not written
}

type dstMode int

const (
	dstNone dstMode = iota
	dstSeparate
	dstInPlace
)

func (d dstMode) String() string { return [...]string{"nil", "separate", "in-place"}[d] }

func rowStatsOf[T Float](dst, x []T, c int, ys []int32, m []T, s, rest []float64, split []bool) {
	switch x := any(x).(type) {
	case []float32:
		d, _ := any(dst).([]float32)
		rowStats32(d, x, c, ys, any(m).([]float32), s, rest, split)
	case []float64:
		d, _ := any(dst).([]float64)
		rowStats64(d, x, c, ys, any(m).([]float64), s, rest, split)
	}
}

func scaleRowsOf[T Float](dst, src []T, c int, f []T) {
	switch d := any(dst).(type) {
	case []float32:
		scaleRows32(d, any(src).([]float32), c, any(f).([]float32))
	case []float64:
		scaleRows64(d, any(src).([]float64), c, any(f).([]float64))
	}
}

// guardedBools is a []bool of n elements inside guard bytes. Every byte,
// the n elements included, starts as a value that no bool holds.
type guardedBools struct {
	buf []byte
	n   int
}

const boolGuard = 0xa5

func newGuardedBools(n int) guardedBools {
	g := guardedBools{buf: make([]byte, n+2*guardLen), n: n}
	for i := range g.buf {
		g.buf[i] = boolGuard
	}
	return g
}

func (g guardedBools) row() []bool {
	return unsafe.Slice((*bool)(unsafe.Pointer(&g.buf[guardLen])), g.n)
}

// intact reports whether the guards are unchanged and every element was
// written with 0 or 1.
func (g guardedBools) intact() bool {
	for i, v := range g.buf {
		inside := i >= guardLen && i < guardLen+g.n
		if inside && v > 1 || !inside && v != boolGuard {
			return false
		}
	}
	return true
}

// allWritten reports whether no element of x is still the guard value.
func allWritten[T Float](x []T) bool {
	for _, v := range x {
		if sameGuard(v) {
			return false
		}
	}
	return true
}

func filledGuards[T Float](n int) guardedRow[T] {
	x := make([]T, n)
	for i := range x {
		x[i] = guardValue[T]()
	}
	return newGuardedRow(x)
}

// runRowStats runs rowStats32 or rowStats64 on the batch with the dst of
// mode. Every buffer lies inside guard regions, and every output starts as
// the guard value.
func runRowStats[T Float](b smallRowsBatch[T], mode dstMode) rowStatsOutput[T] {
	rows := len(b.ys)
	x := newGuardedRow(b.x)
	ys := slices.Clone(b.ys)
	m := filledGuards[T](rows)
	s := filledGuards[float64](rows)
	rest := filledGuards[float64](rows)
	split := newGuardedBools(rows)
	var dst guardedRow[T]
	var d []T
	switch mode {
	case dstSeparate:
		dst = filledGuards[T](len(b.x))
		d = dst.row()
	case dstInPlace:
		d = x.row()
	}

	rowStatsOf(d, x.row(), b.c, ys, m.row(), s.row(), rest.row(), split.row())

	out := rowStatsOutput[T]{m: m.row(), s: s.row(), rest: rest.row(),
		split: slices.Clone(split.row())}
	if d != nil {
		out.exps = slices.Clone(d)
	}
	var damage []string
	note := func(ok bool, buffer string) {
		if !ok {
			damage = append(damage, buffer)
		}
	}
	note(x.guardsIntact(), "x guards")
	note(mode == dstInPlace || slices.EqualFunc(x.row(), b.x, func(a, b T) bool {
		return math.Float64bits(float64(a)) == math.Float64bits(float64(b))
	}), "x changed")
	note(slices.Equal(ys, b.ys), "ys changed")
	note(m.guardsIntact() && allWritten(m.row()), "m")
	note(s.guardsIntact() && allWritten(s.row()), "s")
	note(rest.guardsIntact() && allWritten(rest.row()), "rest")
	note(split.intact(), "split")
	if mode == dstSeparate {
		note(dst.guardsIntact() && allWritten(dst.row()), "dst")
	}
	out.damage = strings.Join(damage, ", ")
	return out
}

// compareRowStats reports the rows of got that differ from want in any
// bit (NaN payloads aside), at most 5, and returns whether all agree.
func compareRowStats[T Float](t *testing.T, caseName string, b smallRowsBatch[T],
	got, want rowStatsOutput[T]) bool {
	t.Helper()
	if got.damage != "" {
		t.Errorf("%s: buffers damaged: %s", caseName, got.damage)
		return false
	}
	bad := 0
	for r := range b.ys {
		var diffs []string
		same := func(name string, g, w float64) {
			if !sameBits64(g, w) {
				diffs = append(diffs, fmt.Sprintf("%s = %v (bits %#x), want %v (bits %#x)",
					name, g, math.Float64bits(g), w, math.Float64bits(w)))
			}
		}
		same("m", float64(got.m[r]), float64(want.m[r]))
		same("s", got.s[r], want.s[r])
		same("rest", got.rest[r], want.rest[r])
		if got.split[r] != want.split[r] {
			diffs = append(diffs, fmt.Sprintf("split = %v, want %v", got.split[r], want.split[r]))
		}
		for j := range b.c {
			if got.exps == nil {
				break
			}
			g, w := float64(got.exps[r*b.c+j]), float64(want.exps[r*b.c+j])
			if !sameBits64(g, w) {
				same(fmt.Sprintf("dst[%d]", j), g, w)
			}
		}
		if len(diffs) == 0 {
			continue
		}
		bad++
		if bad <= 5 {
			t.Errorf("%s: row %d = %v, label %d: %s", caseName, r, b.x[r*b.c:(r+1)*b.c],
				b.ys[r], strings.Join(diffs, "; "))
		}
	}
	return bad == 0
}

// TestRowStatsDefinition checks the pure-Go reference against the
// definition in rowStats32's documentation, written out with the exponential
// of exp.go and a partial-sum tree of its own.
func TestRowStatsDefinition(t *testing.T) {
	t.Run("f32", func(t *testing.T) { testRowStatsDefinition[float32](t) })
	t.Run("f64", func(t *testing.T) { testRowStatsDefinition[float64](t) })
}

func testRowStatsDefinition[T Float](t *testing.T) {
	saved := activeKernel
	activeKernel = kernelGo
	defer func() { activeKernel = saved }()

	r := rand.New(rand.NewPCG(11, 12))
	splits, wholes := 0, 0
	for c := 1; c <= smallRowMax[T](); c++ {
		for _, b := range smallRowsBatches[T](r, c) {
			got := runRowStats(b, dstSeparate)
			want := rowStatsOutput[T]{exps: make([]T, len(b.x))}
			for row := range b.ys {
				x, y := b.x[row*c:(row+1)*c], int(b.ys[row])
				m := definedMax(x)
				e := want.exps[row*c : (row+1)*c]
				for j, v := range x {
					e[j] = definedExp(v - m)
				}
				split := x[y] == m && !math.IsInf(float64(m), 0)
				s, rest := definedSum(e), 0.0
				if split {
					rest = definedSum(e[:y]) + definedSum(e[y+1:])
					s = 1 + rest
					splits++
				} else {
					wholes++
				}
				want.m = append(want.m, m)
				want.s = append(want.s, s)
				want.rest = append(want.rest, rest)
				want.split = append(want.split, split)
			}
			if !compareRowStats(t, fmt.Sprintf("%s/c=%d", b.name, c), b, got, want) {
				return
			}
		}
	}
	// Both kinds of rows must be common, or the comparisons above prove
	// little about one of them.
	if splits < 1000 || wholes < 1000 {
		t.Errorf("batches hold %d split rows and %d whole rows, want at least 1000 each",
			splits, wholes)
	}
}

// TestRowStatsAccuracy checks the sums of the pure-Go reference against
// sums of math.Exp in float64, for rows that hold no NaN and have a finite
// maximum. The tolerance is 1e-6 (float32) or 4e-15 (float64) relative,
// plus c times the smallest normal number for exponentials flushed to +0.
func TestRowStatsAccuracy(t *testing.T) {
	t.Run("f32", func(t *testing.T) { testRowStatsAccuracy[float32](t, 1e-6) })
	t.Run("f64", func(t *testing.T) { testRowStatsAccuracy[float64](t, 4e-15) })
}

func testRowStatsAccuracy[T Float](t *testing.T, tol float64) {
	saved := activeKernel
	activeKernel = kernelGo
	defer func() { activeKernel = saved }()

	minNorm := 0x1p-126
	if _, ok := any(T(0)).(float64); ok {
		minNorm = 0x1p-1022
	}
	r := rand.New(rand.NewPCG(13, 14))
	checked := 0
	for c := 1; c <= smallRowMax[T](); c++ {
		for _, b := range smallRowsBatches[T](r, c) {
			out := runRowStats(b, dstNone)
			for row := range b.ys {
				x, y := b.x[row*c:(row+1)*c], int(b.ys[row])
				m := out.m[row]
				if math.IsInf(float64(m), 0) || slices.ContainsFunc(x, func(v T) bool {
					return v != v
				}) {
					continue
				}
				// exp of the difference rounded to T, as the kernels take it
				var sum, rest float64
				for j, v := range x {
					e := math.Exp(float64(v - m))
					sum += e
					if j != y {
						rest += e
					}
				}
				got, want := out.s[row], sum
				if out.split[row] {
					got, want = out.rest[row], rest
				}
				if math.Abs(got-want) > tol*want+float64(c)*minNorm {
					t.Errorf("c=%d row %v label %d (split %v): sum %v, want %v within %g "+
						"relative", c, x, y, out.split[row], got, want, tol)
				}
				checked++
			}
		}
	}
	if checked < 10000 {
		t.Errorf("checked %d rows, want at least 10000", checked)
	}
}

// TestRowStatsSameBits runs rowStats32 and rowStats64 on every kernel and
// checks every output bit for bit against the pure-Go kernel: every class
// count, dst nil, separate and in place.
func TestRowStatsSameBits(t *testing.T) {
	t.Run("f32", func(t *testing.T) { testRowStatsSameBits[float32](t) })
	t.Run("f64", func(t *testing.T) { testRowStatsSameBits[float64](t) })
}

func testRowStatsSameBits[T Float](t *testing.T) {
	type batchRun struct {
		batch smallRowsBatch[T]
		want  [3]rowStatsOutput[T]
	}
	var runs []batchRun
	saved := activeKernel
	activeKernel = kernelGo
	r := rand.New(rand.NewPCG(15, 16))
	for c := 1; c <= smallRowMax[T](); c++ {
		for _, b := range smallRowsBatches[T](r, c) {
			var run batchRun
			run.batch = b
			for mode := dstNone; mode <= dstInPlace; mode++ {
				run.want[mode] = runRowStats(b, mode)
				if run.want[mode].damage != "" {
					t.Fatalf("pure Go, %s/c=%d, dst %v: buffers damaged: %s", b.name, c, mode,
						run.want[mode].damage)
				}
			}
			runs = append(runs, run)
		}
	}
	activeKernel = saved

	for k := kernelGo; k <= kernelAVX512; k++ {
		withKernel(t, k, func(t *testing.T) {
			failures := 0
			for _, run := range runs {
				for mode := dstNone; mode <= dstInPlace; mode++ {
					caseName := fmt.Sprintf("%s/c=%d, dst %v", run.batch.name, run.batch.c, mode)
					if !compareRowStats(t, caseName, run.batch, runRowStats(run.batch, mode),
						run.want[mode]) {
						failures++
					}
					if failures >= 5 {
						t.Fatalf("stopping after %d failing batches", failures)
					}
				}
			}
		})
	}
}

// TestRowStatsManyRows covers batches of more than chunkElements elements,
// which take several kernel calls, and batches of 0 and 1 rows.
func TestRowStatsManyRows(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, shape := range []struct{ rows, c int }{
		{0, 5}, {1, 1}, {1, 64}, {chunkElements/3 + 7, 3}, {chunkElements/10*2 + 1, 10},
		{chunkElements/64 + 5, 64},
	} {
		b := smallRowsBatch[float32]{name: fmt.Sprintf("%dx%d", shape.rows, shape.c),
			c: shape.c}
		for range shape.rows {
			row := make([]float32, shape.c)
			for j := range row {
				row[j] = float32(4 * r.NormFloat64())
			}
			y := r.IntN(shape.c)
			if r.IntN(2) == 0 {
				row[y] = definedMax(row)
			}
			b.add(row, y)
		}
		t.Run(b.name, func(t *testing.T) {
			saved := activeKernel
			activeKernel = kernelGo
			want := runRowStats(b, dstSeparate)
			activeKernel = saved
			for k := kernelGo; k <= kernelAVX512; k++ {
				withKernel(t, k, func(t *testing.T) {
					compareRowStats(t, b.name, b, runRowStats(b, dstSeparate), want)
				})
			}
		})
	}
}

// TestRowStatsLabelOutOfRange checks that a label outside [0, c) panics on
// every kernel with a message naming the label and its row, also in a
// later kernel call than the first.
func TestRowStatsLabelOutOfRange(t *testing.T) {
	for k := kernelGo; k <= kernelAVX512; k++ {
		withKernel(t, k, func(t *testing.T) {
			for _, c := range []int{1, 10, 32} {
				for _, label := range []int32{-1, int32(c), math.MaxInt32, math.MinInt32} {
					for _, row := range []int{0, 3, chunkElements/c + 2} {
						rows := chunkElements/c + 5
						ys := make([]int32, rows)
						ys[row] = label
						want := fmt.Sprintf("label %d of row %d is outside [0, %d)", label, row, c)

						x32 := make([]float32, rows*c)
						m32 := make([]float32, rows)
						x64 := make([]float64, rows*c)
						m64 := make([]float64, rows)
						s, rest, split := make([]float64, rows), make([]float64, rows),
							make([]bool, rows)
						checkPanics(t, fmt.Sprintf("rowStats32(c=%d, ys[%d]=%d)", c, row, label),
							want, func() { rowStats32(nil, x32, c, ys, m32, s, rest, split) })
						checkPanics(t, fmt.Sprintf("rowStats64(c=%d, ys[%d]=%d)", c, row, label),
							want, func() { rowStats64(x64, x64, c, ys, m64, s, rest, split) })
					}
				}
			}
		})
	}
}

// TestRowStatsInvalidArguments checks the panics on class counts and
// lengths that do not fit together.
func TestRowStatsInvalidArguments(t *testing.T) {
	x := make([]float32, 20)
	ys := make([]int32, 2)
	m := make([]float32, 2)
	s, rest, split := make([]float64, 2), make([]float64, 2), make([]bool, 2)
	x64 := make([]float64, 66)
	m64 := make([]float64, 2)
	for _, tc := range []struct {
		name, want string
		call       func()
	}{
		{"c=0", "c = 0 classes, want 1 to 64", func() { rowStats32(nil, x[:0], 0, ys, m, s, rest, split) }},
		{"c=65", "c = 65 classes, want 1 to 64", func() {
			rowStats32(nil, make([]float32, 130), 65, ys, m, s, rest, split)
		}},
		{"f64 c=33", "c = 33 classes, want 1 to 32", func() {
			rowStats64(nil, x64, 33, ys, m64, s, rest, split)
		}},
		{"x too short", "x has 19 elements, want rows 2 * c 10 = 20", func() {
			rowStats32(nil, x[:19], 10, ys, m, s, rest, split)
		}},
		{"dst too short", "dst has 19 elements, want 20 like x", func() {
			rowStats32(x[:19], x, 10, ys, m, s, rest, split)
		}},
		{"split too short", "an output has 1 elements, want at least rows 2", func() {
			rowStats32(nil, x, 10, ys, m, s, rest, split[:1])
		}},
		{"scale c=0", "c = 0 classes, want 1 to 64", func() { scaleRows32(x, x, 0, m) }},
		{"scale src too short", "dst has 20 and src 19 elements, want rows 2 * c 10 = 20",
			func() { scaleRows32(x, x[:19], 10, m) }},
	} {
		checkPanics(t, tc.name, tc.want, tc.call)
	}
}

// TestRowStatsAllocs checks that the batch kernels allocate nothing.
func TestRowStatsAllocs(t *testing.T) {
	x := make([]float32, 320)
	ys := make([]int32, 32)
	m, f := make([]float32, 32), make([]float32, 32)
	s, rest, split := make([]float64, 32), make([]float64, 32), make([]bool, 32)
	for k := kernelGo; k <= kernelAVX512; k++ {
		withKernel(t, k, func(t *testing.T) {
			allocs := testing.AllocsPerRun(10, func() {
				rowStats32(x, x, 10, ys, m, s, rest, split)
				scaleRows32(x, x, 10, f)
			})
			if allocs != 0 {
				t.Errorf("rowStats32 and scaleRows32 allocate %v times per call, want 0", allocs)
			}
		})
	}
}

// checkPanics checks that call panics with a message containing want.
func checkPanics(t *testing.T, name, want string, call func()) {
	t.Helper()
	defer func() {
		t.Helper()
		msg, _ := recover().(string)
		if !strings.Contains(msg, want) {
			t.Errorf("%s: panic message %q, want one containing %q", name, msg, want)
		}
	}()
	call()
}

// TestScaleRowsSameBits checks scaleRows32 and scaleRows64 against the
// products src*f in T, on every kernel, every class count, out of place and
// in place, with guard regions.
func TestScaleRowsSameBits(t *testing.T) {
	t.Run("f32", func(t *testing.T) { testScaleRowsSameBits[float32](t) })
	t.Run("f64", func(t *testing.T) { testScaleRowsSameBits[float64](t) })
}

func testScaleRowsSameBits[T Float](t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	factors := []T{0, T(math.Copysign(0, -1)), 1, -1, T(math.Inf(1)), T(math.NaN()),
		T(math.SmallestNonzeroFloat32), T(maxFinite[T]()), 1e-3, 3}
	for k := kernelGo; k <= kernelAVX512; k++ {
		withKernel(t, k, func(t *testing.T) {
			for c := 1; c <= smallRowMax[T](); c++ {
				for _, b := range smallRowsBatches[T](r, c) {
					rows := len(b.ys)
					f := make([]T, rows)
					for i := range f {
						f[i] = factors[r.IntN(len(factors))]
						if i%3 == 0 {
							f[i] = T(r.NormFloat64())
						}
					}
					for _, inPlace := range []bool{false, true} {
						src := newGuardedRow(b.x)
						dst := src
						if !inPlace {
							dst = filledGuards[T](len(b.x))
						}
						fs := newGuardedRow(f)
						scaleRowsOf(dst.row(), src.row(), c, fs.row())

						caseName := fmt.Sprintf("%s/c=%d in place %v", b.name, c, inPlace)
						if !src.guardsIntact() || !dst.guardsIntact() || !fs.guardsIntact() {
							t.Fatalf("%s: guard regions written", caseName)
						}
						if !inPlace && !slices.EqualFunc(src.row(), b.x, func(a, b T) bool {
							return math.Float64bits(float64(a)) == math.Float64bits(float64(b))
						}) {
							t.Fatalf("%s: src changed", caseName)
						}
						for i, v := range b.x {
							want := v * f[i/c]
							if got := dst.row()[i]; !sameBits64(float64(got), float64(want)) {
								t.Fatalf("%s: dst[%d] = %v (bits %#x), want %v * %v = %v", caseName, i,
									got, math.Float64bits(float64(got)), v, f[i/c], want)
							}
						}
					}
				}
			}
		})
	}
}

// BenchmarkRowStats compares the batch kernel with the row primitives run
// one row at a time (rowStatsLoop), on 32 rows of 10 classes, with the
// exponentials stored (dst) and not, on every kernel this CPU supports:
//
//	go test -run '^$' -bench 'RowStats|ScaleRows' ./core
func BenchmarkRowStats(b *testing.B) {
	benchRowStats[float32](b, "f32/32x10", 32, 10)
	benchRowStats[float64](b, "f64/32x10", 32, 10)
}

func benchRowStats[T Float](b *testing.B, name string, rows, c int) {
	r := rand.New(rand.NewPCG(21, 22))
	x := make([]T, rows*c)
	ys := make([]int32, rows)
	for i := range x {
		x[i] = T(3 * r.NormFloat64())
	}
	for i := range ys {
		ys[i] = int32(r.IntN(c))
		if i%2 == 0 {
			row := x[i*c : (i+1)*c]
			row[ys[i]] = definedMax(row)
		}
	}
	dst := make([]T, len(x))
	m, s, rest, split := make([]T, rows), make([]float64, rows), make([]float64, rows),
		make([]bool, rows)
	for k := kernelGo; k <= kernelAVX512; k++ {
		if !kernelSupported(k) {
			continue
		}
		for _, withDst := range []bool{false, true} {
			d, variant := []T(nil), "nil"
			if withDst {
				d, variant = dst, "dst"
			}
			b.Run(fmt.Sprintf("%s/%v/batch/%s", name, k, variant), func(b *testing.B) {
				saved := activeKernel
				activeKernel = k
				defer func() { activeKernel = saved }()
				for b.Loop() {
					rowStatsOf(d, x, c, ys, m, s, rest, split)
				}
			})
			b.Run(fmt.Sprintf("%s/%v/loop/%s", name, k, variant), func(b *testing.B) {
				saved := activeKernel
				activeKernel = k
				defer func() { activeKernel = saved }()
				for b.Loop() {
					rowStatsLoop(d, x, c, ys, m, s, rest, split)
				}
			})
		}
	}
}

// BenchmarkScaleRows compares scaleRows32 with rowScale one row at a time
// on 32 rows of 10 classes, out of place: in place, repeated scaling would
// drive the values into the slow subnormal range.
func BenchmarkScaleRows(b *testing.B) {
	x, dst := make([]float32, 320), make([]float32, 320)
	f := make([]float32, 32)
	for i := range x {
		x[i] = float32(i)
	}
	for i := range f {
		f[i] = 1 / float32(i+1)
	}
	for k := kernelGo; k <= kernelAVX512; k++ {
		if !kernelSupported(k) {
			continue
		}
		b.Run(fmt.Sprintf("f32/32x10/%v/batch", k), func(b *testing.B) {
			saved := activeKernel
			activeKernel = k
			defer func() { activeKernel = saved }()
			for b.Loop() {
				scaleRows32(dst, x, 10, f)
			}
		})
		b.Run(fmt.Sprintf("f32/32x10/%v/loop", k), func(b *testing.B) {
			saved := activeKernel
			activeKernel = k
			defer func() { activeKernel = saved }()
			for b.Loop() {
				scaleRowsLoop(dst, x, 10, f)
			}
		})
	}
}
