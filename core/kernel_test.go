package core

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// Tests of the row kernels: accuracy of exp32 and exp64, and bit-for-bit
// agreement of every kernel this CPU supports with the pure-Go reference.

// withKernel runs f with kernel k selected, or skips when the CPU or the
// build lacks it.
func withKernel(t *testing.T, k kernelKind, f func(t *testing.T)) {
	t.Helper()
	t.Run(k.String(), func(t *testing.T) {
		if !kernelSupported(k) {
			t.Skipf("kernel %v is not supported by this CPU or build", k)
		}
		saved := activeKernel
		activeKernel = k
		defer func() { activeKernel = saved }()
		f(t)
	})
}

// parallelRange calls f on disjoint ranges [lo, hi) of at most chunk
// elements covering [0, n), from GOMAXPROCS goroutines. Each goroutine gets
// its own f from newWorker, so that f can keep buffers.
func parallelRange(n, chunk int, newWorker func() (f func(lo, hi int))) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			f := newWorker()
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				f(lo, min(lo+chunk, n))
			}
		})
	}
	wg.Wait()
}

// TestExp32Exhaustive checks exp32, as computed by the fastest kernel, on
// every float32 in [-88, 0] against exp(v) in float64:
//
//   - exp(v) >= 2^-126: the result is within 2 ulp of exp(v), or +0 when
//     exp(v) is within 2 ulp of 2^-126 and the computed value fell below
//   - exp(v) < 2^-126: the result is +0, never a subnormal
//
// A result equal to exp64(v) rounded to float32 is within 0.5 ulp plus the
// error of exp64, which is below 1 ulp of float64 (TestExp64Accuracy). Every
// other result is checked against math.Exp. The other kernels return the same bits
// (TestExpKernelsSameBits). The pure-Go kernel alone (purego builds, other
// architectures) would take about a minute for all 1.1e9 inputs, so it
// checks every 13th; -short checks every 97th.
func TestExp32Exhaustive(t *testing.T) {
	stride := uint32(1)
	switch {
	case testing.Short():
		stride = 97
	case activeKernel == kernelGo:
		stride = 13
	}
	first, last := math.Float32bits(float32(math.Copysign(0, -1))), math.Float32bits(-88)
	n := int(last-first)/int(stride) + 1

	var worst struct {
		sync.Mutex
		ulps  float64
		input float32
	}
	var failures atomic.Int64
	const chunk = 1 << 16
	parallelRange(n, chunk, func() func(lo, hi int) {
		x, got := make([]float32, chunk), make([]float32, chunk)
		x64, ref := make([]float64, chunk), make([]float64, chunk)
		return func(lo, hi int) {
			x, got, x64, ref := x[:hi-lo], got[:hi-lo], x64[:hi-lo], ref[:hi-lo]
			for i := range x {
				x[i] = math.Float32frombits(first + uint32(lo+i)*stride)
				x64[i] = float64(x[i])
			}
			var acc [partials32]float32
			var acc64 [partials64]float64
			expSumKernel32(got, x, 0, &acc, rowAddr(x), true)
			expSumKernel64(ref, x64, 0, &acc64, rowAddr(x64), true)

			localULPs, localInput := 0.0, float32(0)
			for i, v := range x {
				if ref[i] >= 0x1p-126*(1+0x1p-20) && got[i] == float32(ref[i]) {
					continue
				}
				ulps, ok := exp32Error(v, got[i])
				if !ok && failures.Add(1) <= 10 {
					t.Errorf("exp32(%v) = %v (bits %#x), want %v within 2 ulp, flushed to "+
						"+0 below 2^-126", v, got[i], math.Float32bits(got[i]),
						math.Exp(float64(v)))
				}
				if ulps > localULPs {
					localULPs, localInput = ulps, v
				}
			}
			worst.Lock()
			if localULPs > worst.ulps {
				worst.ulps, worst.input = localULPs, localInput
			}
			worst.Unlock()
		}
	})
	t.Logf("kernel %v, %d inputs: max error %.3f ulp at %v", activeKernel, n, worst.ulps,
		worst.input)
	if f := failures.Load(); f > 0 {
		t.Errorf("%d inputs out of %d fail", f, n)
	}
}

// exp32Error returns the error of got = exp32(v) in ulp of exp(v) and
// whether it meets the contract of TestExp32Exhaustive.
func exp32Error(v, got float32) (ulps float64, ok bool) {
	want := math.Exp(float64(v))
	if want < minNorm32 {
		return 0, math.Float32bits(got) == 0
	}
	// ulp of a normal float32 near want: 2^(exponent - 23)
	ulp := math.Float64frombits((math.Float64bits(want)>>52 - 23) << 52)
	if got == 0 {
		return 0, want < minNorm32+2*0x1p-149
	}
	ulps = math.Abs(float64(got)-want) / ulp
	return ulps, ulps <= 2
}

// TestExp32Special checks exp32's special cases on every kernel.
func TestExp32Special(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	nan := float32(math.NaN())
	tests := []struct {
		v, want float32
	}{
		{0, 1},
		{negZero, 1},
		{float32(math.Inf(-1)), 0},
		{-88, 0},
		{-87.5, 0},  // exp(-87.5) < 2^-126: flushed
		{-1e30, 0},  // clamped, then flushed
		{-1e-45, 1}, // the largest negative float32 (subnormal)
		{-1, float32(math.Exp(-1))},
		{nan, nan},
	}
	for k := kernelGo; k <= kernelAVX512; k++ {
		withKernel(t, k, func(t *testing.T) {
			for _, tt := range tests {
				var acc [partials32]float32
				got := []float32{0}
				expSumKernel32(got, []float32{tt.v}, 0, &acc, 0, true)
				if tt.want != tt.want {
					if got[0] == got[0] {
						t.Errorf("exp32(%v) = %v, want NaN", tt.v, got[0])
					}
					continue
				}
				if math.Float32bits(got[0]) != math.Float32bits(tt.want) {
					t.Errorf("exp32(%v) = %v (bits %#x), want %v (bits %#x)", tt.v, got[0],
						math.Float32bits(got[0]), tt.want, math.Float32bits(tt.want))
				}
			}
		})
	}
}

// TestExp64Accuracy checks exp64, as computed by the fastest kernel, on a
// dense random sample of [-710, 0] and of small arguments against a 160-bit
// reference: within 2 ulp for results >= 2^-1022, +0 below.
func TestExp64Accuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(64, 1))
	samples := 150000
	if testing.Short() {
		samples = 15000
	}
	x := make([]float64, 0, samples+16)
	for len(x) < samples {
		switch len(x) % 3 {
		case 0:
			x = append(x, -710*r.Float64())
		case 1:
			x = append(x, -r.Float64())
		default:
			x = append(x, -math.Exp(-40*r.Float64()))
		}
	}
	lo := -708.3964185322641 // ln(2^-1022)
	x = append(x, 0, -1e-300, -0.34657359027997264, -0.34657359027997270, lo,
		math.Nextafter(lo, 0), math.Nextafter(lo, -1), -709, -709.5, -745.2, -800)

	got := make([]float64, len(x))
	var acc [partials64]float64
	expSumKernel64(got, x, 0, &acc, rowAddr(x), true)

	var mu sync.Mutex
	worst, worstInput := 0.0, 0.0
	var failures atomic.Int64
	check := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ulps, ok := exp64Error(x[i], got[i])
			if !ok && failures.Add(1) <= 10 {
				t.Errorf("exp64(%v) = %v (bits %#x), want %v within 2 ulp, flushed to +0 "+
					"below 2^-1022", x[i], got[i], math.Float64bits(got[i]), math.Exp(x[i]))
			}
			mu.Lock()
			if ulps > worst {
				worst, worstInput = ulps, x[i]
			}
			mu.Unlock()
		}
	}
	parallelRange(len(x), 1024, func() func(lo, hi int) { return check })
	t.Logf("kernel %v, %d inputs: max error %.3f ulp at %v", activeKernel, len(x), worst,
		worstInput)
}

// exp64Error returns the error of got = exp64(v) in ulp of exp(v), computed
// with 160-bit floats, and whether it meets the contract.
func exp64Error(v, got float64) (ulps float64, ok bool) {
	want := bigExp(v)
	if want.Cmp(big.NewFloat(minNorm64)) < 0 {
		return 0, math.Float64bits(got) == 0
	}
	ulp := new(big.Float).SetMantExp(big.NewFloat(1), want.MantExp(nil)-53)
	if got == 0 {
		limit := new(big.Float).Add(big.NewFloat(minNorm64), big.NewFloat(2*0x1p-1074))
		return 0, want.Cmp(limit) < 0
	}
	diff := new(big.Float).SetPrec(bigPrec).Sub(big.NewFloat(got), want)
	ulps, _ = new(big.Float).Quo(diff.Abs(diff), ulp).Float64()
	return ulps, ulps <= 2
}

const bigPrec = 160

var bigLn2 = func() *big.Float {
	// ln 2 = sum_{k>=1} 1/(k*2^k), one bit per term
	sum := new(big.Float).SetPrec(bigPrec + 20)
	for k := 1; k <= bigPrec+30; k++ {
		pow := new(big.Float).SetMantExp(big.NewFloat(1), -k) // exact
		term := new(big.Float).SetPrec(bigPrec+20).Quo(pow, big.NewFloat(float64(k)))
		sum.Add(sum, term)
	}
	return sum
}()

// bigExp returns exp(v) with about bigPrec bits: v = n*ln2 + r, exp(r) from
// its Taylor series at r/256, squared 8 times, then scaled by 2^n.
func bigExp(v float64) *big.Float {
	n := math.Round(v / math.Ln2)
	r := new(big.Float).SetPrec(bigPrec+20).Mul(bigLn2, big.NewFloat(n))
	r.Sub(big.NewFloat(v), r)
	r.SetMantExp(r, -8)

	sum := new(big.Float).SetPrec(bigPrec + 20).SetInt64(1)
	term := new(big.Float).SetPrec(bigPrec + 20).SetInt64(1)
	for k := 1; k <= 16; k++ {
		term.Mul(term, r)
		term.Quo(term, big.NewFloat(float64(k)))
		sum.Add(sum, term)
	}
	for range 8 {
		sum.Mul(sum, sum)
	}
	return sum.SetMantExp(sum, int(n))
}

// TestFMA32 checks fma32 against a*b + c computed exactly and rounded once,
// on random operands and on double-rounding cases, where the float64 sum is
// a float32 halfway point but the exact sum is not.
func TestFMA32(t *testing.T) {
	type abc struct{ a, b, c float32 }
	cases := []abc{
		// a*b = 2^-24 - 2^-60: exact sum just below the halfway point
		// between 1+2^-23 and 1+2^-22, which float64 rounds onto.
		{0x1p-24 * (1 - 0x1p-18), 1 + 0x1p-18, 1 + 0x1p-23},
		{-0x1p-24 * (1 - 0x1p-18), 1 + 0x1p-18, -1 - 0x1p-23},
		{0x1p-24 * (1 - 0x1p-18), -1 - 0x1p-18, 1 + 0x1p-22},
		{0x1p-25 * (1 - 0x1p-18), 1 + 0x1p-18, 0.5 + 0x1p-24},
		{1, 0x1p-24, 1},           // exact halfway point: rounds to even
		{1, 0x1p-24, 1 + 0x1p-23}, // exact halfway point: rounds to even
		{0, 5, float32(math.Copysign(0, -1))},
	}
	r := rand.New(rand.NewPCG(32, 1))
	for range 200000 {
		a := float32(r.NormFloat64())
		b := float32(math.Ldexp(r.NormFloat64(), r.IntN(60)-30))
		c := float32(r.NormFloat64())
		cases = append(cases, abc{a, b, c})
	}
	for _, tc := range cases {
		exact := new(big.Float).SetPrec(200).SetFloat64(float64(tc.a))
		exact.Mul(exact, new(big.Float).SetFloat64(float64(tc.b)))
		exact.Add(exact, new(big.Float).SetFloat64(float64(tc.c)))
		want, _ := exact.Float32()
		if exact.Sign() == 0 {
			want = float32(float64(tc.a)*float64(tc.b) + float64(tc.c)) // sign of zero
		}
		if got := fma32(tc.a, tc.b, tc.c); math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("fma32(%x, %x, %x) = %x, want %x", tc.a, tc.b, tc.c, got, want)
		}
	}
}

// TestExpKernelsSameBits checks that every kernel computes the same
// exponentials as the pure-Go exp32 and exp64, on a sample of all bit
// patterns: positive arguments (outside the contract), NaN, infinities and
// subnormals included.
func TestExpKernelsSameBits(t *testing.T) {
	x32 := make([]float32, 0, 1<<21)
	for b := uint64(0); b < 1<<32; b += 2039 {
		x32 = append(x32, math.Float32frombits(uint32(b)))
	}
	for b := math.Float32bits(-87.5); b < math.Float32bits(-87.2); b++ {
		x32 = append(x32, math.Float32frombits(b)) // the flush bound
	}
	r := rand.New(rand.NewPCG(6, 4))
	x64 := make([]float64, 0, 1<<20)
	for range 1 << 19 {
		x64 = append(x64, math.Float64frombits(r.Uint64()), -750*r.Float64())
	}
	for b := math.Float64bits(-708.397); b < math.Float64bits(-708.395); b += 1 << 20 {
		x64 = append(x64, math.Float64frombits(b))
	}

	want32 := make([]float32, len(x32))
	for i, v := range x32 {
		want32[i] = exp32(v)
	}
	want64 := make([]float64, len(x64))
	for i, v := range x64 {
		want64[i] = exp64(v)
	}
	for k := kernelGo; k <= kernelAVX512; k++ {
		withKernel(t, k, func(t *testing.T) {
			got32 := make([]float32, len(x32))
			expSum32(got32, x32, 0, rowAddr(x32))
			got64 := make([]float64, len(x64))
			expSum64(got64, x64, 0, rowAddr(x64))
			bad := 0
			for i := range x32 {
				if !sameBits32(got32[i], want32[i]) && bad < 10 {
					bad++
					t.Errorf("exp32(%v) = %x, want %x like the pure-Go exp32", x32[i],
						math.Float32bits(got32[i]), math.Float32bits(want32[i]))
				}
			}
			for i := range x64 {
				if !sameBits64(got64[i], want64[i]) && bad < 20 {
					bad++
					t.Errorf("exp64(%v) = %x, want %x like the pure-Go exp64", x64[i],
						math.Float64bits(got64[i]), math.Float64bits(want64[i]))
				}
			}
		})
	}
}

// sameBits32 reports whether a and b have the same bits, or are both NaN
// (kernels may return different NaN payloads).
func sameBits32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

func sameBits64(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
}

// kernelRowLengths are the row lengths of the bitwise tests: every length
// up to past 3 vectors of 64 lanes, lengths around the chunk size of one
// assembly call, and longer rows.
func kernelRowLengths(t *testing.T) []int {
	var lengths []int
	for n := range 201 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 255, 1000, 4097, 32000+5)
	if !testing.Short() {
		lengths = append(lengths, chunkElements-1, chunkElements+65, 3*chunkElements+7)
	}
	return lengths
}

// rowContents returns the row patterns of the bitwise tests for length n.
func rowContents(r *rand.Rand, n int) map[string][]float64 {
	rows := map[string][]float64{}
	fill := func(name string, f func(i int) float64) {
		x := make([]float64, n)
		for i := range x {
			x[i] = f(i)
		}
		rows[name] = x
	}
	inf, nan := math.Inf(1), math.NaN()
	fill("normal", func(int) float64 { return 8 * r.NormFloat64() })
	fill("wide", func(int) float64 { return math.Ldexp(r.NormFloat64(), r.IntN(40)-10) })
	fill("specials", func(i int) float64 {
		switch r.IntN(12) {
		case 0:
			return -inf
		case 1:
			return math.Copysign(0, -1)
		case 2:
			return 0
		case 3:
			return 1e-310 * r.NormFloat64() // subnormal in float64, 0 in float32
		case 4:
			return 1e-40 * r.NormFloat64() // subnormal in float32
		case 5:
			return 1e30 * r.NormFloat64()
		}
		return r.NormFloat64()
	})
	fill("nan", func(i int) float64 {
		if i == n/2 {
			return nan
		}
		return r.NormFloat64()
	})
	fill("inf", func(i int) float64 {
		if i == n/3 {
			return inf
		}
		return r.NormFloat64()
	})
	fill("all-neg-inf", func(int) float64 { return -inf })
	fill("neg-inf-and-nan", func(i int) float64 {
		if i%5 == 0 {
			return nan
		}
		return -inf
	})
	fill("zeros", func(i int) float64 {
		if i%2 == 0 {
			return math.Copysign(0, -1)
		}
		return -1
	})
	return rows
}

// guarded is a buffer of n elements between guard regions filled with a
// NaN that no kernel produces.
type guardedRow[T Float] struct {
	buf []T
	n   int
}

const guardLen = 67

func newGuardedRow[T Float](src []T) guardedRow[T] {
	g := guardedRow[T]{buf: make([]T, len(src)+2*guardLen), n: len(src)}
	for i := range g.buf {
		g.buf[i] = guardValue[T]()
	}
	copy(g.row(), src)
	return g
}

func (g guardedRow[T]) row() []T { return g.buf[guardLen : guardLen+g.n] }

func (g guardedRow[T]) guardsIntact() bool {
	for i, v := range g.buf {
		if (i < guardLen || i >= guardLen+g.n) && !sameGuard(v) {
			return false
		}
	}
	return true
}

func guardValue[T Float]() T {
	var zero T
	if _, ok := any(zero).(float32); ok {
		return T(math.Float32frombits(0x7fc0_1234))
	}
	return T(math.Float64frombits(0x7ff8_0000_0000_1234))
}

func sameGuard[T Float](v T) bool {
	switch v := any(v).(type) {
	case float32:
		return math.Float32bits(v) == 0x7fc0_1234
	case float64:
		return math.Float64bits(v) == 0x7ff8_0000_0000_1234
	}
	return false
}

// rowResult is what the row primitives return for one row.
type rowResult[T Float] struct {
	max        T
	sum        float64 // dst == nil
	sumStored  float64 // separate dst
	stored     []T
	sumInPlace float64 // dst == x
	inPlace    []T
	scaled     []T
	streamed   [][]T // scaled out of place with streaming stores, per offset
	guardsOK   bool
}

func runRow[T Float](x []T) rowResult[T] {
	var res rowResult[T]
	in := newGuardedRow(x)
	res.max = rowMax(in.row())
	res.sum = rowExpSum(nil, in.row(), res.max, rowAddr(in.row()))

	out := newGuardedRow(make([]T, len(x)))
	res.sumStored = rowExpSum(out.row(), in.row(), res.max, rowAddr(in.row()))
	res.stored = append([]T(nil), out.row()...)

	same := newGuardedRow(x)
	res.sumInPlace = rowExpSum(same.row(), same.row(), res.max, rowAddr(same.row()))
	res.inPlace = append([]T(nil), same.row()...)

	rowScale(same.row(), same.row(), T(1/res.sumInPlace), rowAddr(same.row()), false)
	res.scaled = append([]T(nil), same.row()...)

	// Scaled out of place with streaming stores, at every offset of the
	// destination within 64 bytes, so that the kernels' aligned head covers
	// every length. The prefetch address 0 must not fault either.
	streamOK := true
	for shift := range 64 / int(unsafe.Sizeof(x[0])) {
		g := newGuardedRow(make([]T, shift+len(x)))
		rowScale(g.row()[shift:], res.inPlace, T(1/res.sumInPlace), 0, true)
		res.streamed = append(res.streamed, append([]T(nil), g.row()[shift:]...))
		for _, v := range g.row()[:shift] {
			streamOK = streamOK && math.Float64bits(float64(v)) == 0
		}
		streamOK = streamOK && g.guardsIntact()
	}

	unchanged := true
	for i, v := range in.row() {
		unchanged = unchanged && math.Float64bits(float64(v)) == math.Float64bits(float64(x[i]))
	}
	res.guardsOK = unchanged && streamOK && in.guardsIntact() && out.guardsIntact() &&
		same.guardsIntact()
	return res
}

// TestKernelsSameBits runs the row primitives on every kernel and checks
// their results bit for bit against the pure-Go kernel, for rows of many
// lengths and contents, dst nil, separate and in place, with guard regions
// around every buffer.
func TestKernelsSameBits(t *testing.T) {
	t.Run("f32", func(t *testing.T) { testKernelsSameBits[float32](t) })
	t.Run("f64", func(t *testing.T) { testKernelsSameBits[float64](t) })
}

func testKernelsSameBits[T Float](t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	type row struct {
		name string
		x    []T
		want rowResult[T]
	}
	var rows []row
	saved := activeKernel
	activeKernel = kernelGo
	for _, n := range kernelRowLengths(t) {
		for name, x := range rowContents(r, n) {
			xs := make([]T, n)
			for i, v := range x {
				xs[i] = T(v)
			}
			rows = append(rows, row{fmt.Sprintf("%s/%d", name, n), xs, runRow(xs)})
		}
	}
	activeKernel = saved

	for k := kernelGo; k <= kernelAVX512; k++ {
		withKernel(t, k, func(t *testing.T) {
			failures := 0
			for _, row := range rows {
				if failures >= 10 {
					t.Fatalf("stopping after %d failing rows", failures)
				}
				if !checkRow(t, row.name, runRow(row.x), row.want) {
					failures++
				}
			}
		})
	}
}

func checkRow[T Float](t *testing.T, name string, got, want rowResult[T]) bool {
	t.Helper()
	ok := true
	check := func(what string, g, w float64) {
		if !sameBits64(g, w) {
			t.Errorf("%s: %s = %v (bits %#x), want %v (bits %#x) as in pure Go", name, what,
				g, math.Float64bits(g), w, math.Float64bits(w))
			ok = false
		}
	}
	check("rowMax", float64(got.max), float64(want.max))
	check("rowExpSum(nil)", got.sum, want.sum)
	check("rowExpSum(dst)", got.sumStored, want.sumStored)
	check("rowExpSum(x in place)", got.sumInPlace, want.sumInPlace)
	for _, c := range []struct {
		what      string
		got, want []T
	}{{"dst", got.stored, want.stored}, {"in-place x", got.inPlace, want.inPlace},
		{"scaled", got.scaled, want.scaled}} {
		for i := range c.got {
			if !sameBits64(float64(c.got[i]), float64(c.want[i])) {
				t.Errorf("%s: %s[%d] = %v, want %v as in pure Go", name, c.what, i,
					c.got[i], c.want[i])
				ok = false
				break
			}
		}
	}
	for shift, streamed := range got.streamed {
		for i := range streamed {
			if !sameBits64(float64(streamed[i]), float64(want.scaled[i])) {
				t.Errorf("%s: streamed at offset %d: [%d] = %v, want %v as scaled in place "+
					"in pure Go", name, shift, i, streamed[i], want.scaled[i])
				ok = false
				break
			}
		}
	}
	if !got.guardsOK {
		t.Errorf("%s: a kernel wrote outside its row or changed its input", name)
		ok = false
	}
	return ok
}

// TestExpSumLayout checks the documented layout of rowExpSum on the pure-Go
// kernel, which the others match bit for bit: element j goes to partial
// j % 64 (float32) or j % 32 (float64), and partials combine pairwise.
func TestExpSumLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	saved := activeKernel
	activeKernel = kernelGo
	defer func() { activeKernel = saved }()
	for _, n := range []int{1, 63, 64, 65, 1000, chunkElements + 100} {
		x := make([]float32, n)
		y := make([]float64, n)
		for i := range x {
			x[i] = float32(10 * r.NormFloat64())
			y[i] = 10 * r.NormFloat64()
		}

		var p32 [64]float32
		for j, v := range x {
			p32[j%64] += exp32(v - 3)
		}
		for half := 32; half >= 1; half /= 2 {
			for k := range half {
				p32[k] += p32[k+half]
			}
		}
		if got := rowExpSum(nil, x, 3, rowAddr(x)); got != float64(p32[0]) {
			t.Errorf("rowExpSum(float32 row of %d) = %v, want %v", n, got, p32[0])
		}

		var p64 [32]float64
		for j, v := range y {
			p64[j%32] += exp64(v - 3)
		}
		for half := 16; half >= 1; half /= 2 {
			for k := range half {
				p64[k] += p64[k+half]
			}
		}
		if got := rowExpSum(nil, y, 3, rowAddr(y)); got != p64[0] {
			t.Errorf("rowExpSum(float64 row of %d) = %v, want %v", n, got, p64[0])
		}
	}
}

// TestRowMaxZeros checks that a zero maximum is +0 when the row holds a +0,
// on every kernel, whatever the order of the zeros.
func TestRowMaxZeros(t *testing.T) {
	neg := math.Copysign(0, -1)
	nan := math.NaN()
	tests := []struct {
		x    []float64
		want float64
	}{
		{[]float64{neg, 0}, 0},
		{[]float64{0, neg}, 0},
		{[]float64{neg}, neg},
		{[]float64{neg, -1, neg}, neg},
		{[]float64{nan, neg, math.Inf(-1)}, neg},
		{[]float64{nan, nan}, math.Inf(-1)},
		{[]float64{}, math.Inf(-1)},
	}
	for k := kernelGo; k <= kernelAVX512; k++ {
		withKernel(t, k, func(t *testing.T) {
			for _, tt := range tests {
				// -Inf padding before and after moves the zeros to other lanes
				for _, pad := range []int{0, 5, 17, 70} {
					var x []float64
					for range pad {
						x = append(x, math.Inf(-1))
					}
					x = append(x, tt.x...)
					for range pad {
						x = append(x, math.Inf(-1))
					}
					x32 := make([]float32, len(x))
					for i, v := range x {
						x32[i] = float32(v)
					}
					if got := rowMax(x); math.Float64bits(got) != math.Float64bits(tt.want) {
						t.Errorf("rowMax(%v) = %v, want %v", x, got, tt.want)
					}
					got := rowMax(x32)
					if math.Float32bits(got) != math.Float32bits(float32(tt.want)) {
						t.Errorf("rowMax(float32 %v) = %v, want %v", x, got, tt.want)
					}
				}
			}
		})
	}
}
