//go:build !purego

#include "textflag.h"

// AVX-512 batch kernels for short rows (smallrows.go). One call handles
// many rows of c classes. A row is up to 4 vectors, loaded with masks
// K1-K4, which are set once per call and select the row's lanes: 16 float32
// or 8 float64 lanes per vector. Each kernel matches rowStatsLoop or
// scaleRowsLoop run with the pure-Go row primitives, bit for bit:
//
//   - The maximum keeps a lane-wise maximum that skips NaN ("VMAXPS acc, x,
//     K, acc" returns acc when x is NaN, as in maxAVX512F32). Equal zeros
//     may come out as either sign, so a zero maximum is set to +0 when the
//     row holds a +0 and to -0 otherwise, as max32 and max64 do.
//   - Element j of a row is exp(x_j - m) in lane j, computed with the
//     operations of exp32 and exp64. A lane past the row's end is 0, as the
//     pure-Go sums leave a partial without elements at 0.
//   - The sums combine the lanes in the tree of combineGo32 and combineGo64:
//     lane k plus lane k + n/2, the lower lane the first operand.
//   - When the label's logit is the finite maximum, the elements before the
//     label are the row's exponentials masked to lanes [0, y), and the
//     elements after it are loaded from x + y + 1, so that they start at
//     lane 0 as in a fresh rowExpSum.
//
// The vectors past the row's last one (a row of c <= 16 float32 needs one)
// are never written in the row loop. The kernels zero them once per call,
// so the sums can always add all 4 vectors: adding a +0 leaves every sum
// unchanged, because no exponential or sum is -0.
//
// Registers of the row loop:
//
//	SI x row, DI dst row (0 for none), R14 c, CX the label y
//	BX, R9-R12 the ends of ys, m, s, rest and split, indexed by R13, which
//	runs from -rows to 0; DX the elements after y (0 when not split)
//	Z0-Z3 the row, then the exponentials after y
//	Z8-Z11 the row's exponentials, then those before y
//	Z12-Z15 the elements after y; Z4-Z7 temporaries
//	Z16 the maximum; float32: Z17-Z28 exp32 constants, Z29 -Inf
//	float64: Z17-Z31 and R8 exp64 constants
//	K1-K4 the row's lanes, K5 scratch, K6 lanes after y, K7 lanes before y

// Byte offsets of the rows of exp32Consts and exp64Consts (kernel_amd64.go).
#define EC32_LO 0
#define EC32_LOG2E 32
#define EC32_MAGIC 64
#define EC32_NLN2HI 96
#define EC32_NLN2LO 128
#define EC32_C6 160
#define EC32_C5 192
#define EC32_C4 224
#define EC32_C3 256
#define EC32_C2 288
#define EC32_ONE 320
#define EC32_MIN 352

#define EC64_LO 0
#define EC64_LOG2E 32
#define EC64_MAGIC 64
#define EC64_NLN2HI 96
#define EC64_NLN2LO 128
#define EC64_C11 160
#define EC64_C10 192
#define EC64_C9 224
#define EC64_C8 256
#define EC64_C7 288
#define EC64_C6 320
#define EC64_C5 352
#define EC64_C4 384
#define EC64_C3 416
#define EC64_C2 448
#define EC64_ONE 480
#define EC64_MIN 512

// Predicate "not less than, unordered is true" of VCMPPS and VCMPPD: selects
// results >= the smallest normal number, and NaN.
#define ROW_NLT_UQ $0x15

// ROWEXP32Z sets n = exp32(x - m) for 16 lanes: the instructions of EXP32Z
// in kernel32_amd64.s. x and t are clobbered, k is set. Needs Z16 = m and
// Z17-Z28 = EC32_LO ... EC32_MIN broadcast.
#define ROWEXP32Z(x, t, n, k) \
	VSUBPS      Z16, x, x;         \
	VMAXPS      x, Z17, x;         \
	VMOVAPS     Z19, t;            \
	VFMADD231PS Z18, x, t;         \
	VSUBPS      Z19, t, n;         \
	VFMADD231PS Z20, n, x;         \
	VFMADD231PS Z21, n, x;         \
	VMOVAPS     Z22, n;            \
	VFMADD213PS Z23, x, n;         \
	VFMADD213PS Z24, x, n;         \
	VFMADD213PS Z25, x, n;         \
	VFMADD213PS Z26, x, n;         \
	VFMADD213PS Z27, x, n;         \
	VFMADD213PS Z27, x, n;         \
	VPSLLD      $23, t, t;         \
	VMULPS      t, n, n;           \
	VCMPPS      ROW_NLT_UQ, Z28, n, k; \
	VMOVAPS.Z   n, k, n

// ROWEXP64Z sets n = exp64(x - m) for 8 lanes: the instructions of EXP64Z
// in kernel64_amd64.s. x and t are clobbered, k is set. Needs Z16 = m,
// Z17-Z31 = EC64_LO ... EC64_C2 broadcast and R8 = exp64Consts.
#define ROWEXP64Z(x, t, n, k) \
	VSUBPD      Z16, x, x;                    \
	VMAXPD      x, Z17, x;                    \
	VMOVAPD     Z19, t;                       \
	VFMADD231PD Z18, x, t;                    \
	VSUBPD      Z19, t, n;                    \
	VFMADD231PD Z20, n, x;                    \
	VFMADD231PD Z21, n, x;                    \
	VMOVAPD     Z22, n;                       \
	VFMADD213PD Z23, x, n;                    \
	VFMADD213PD Z24, x, n;                    \
	VFMADD213PD Z25, x, n;                    \
	VFMADD213PD Z26, x, n;                    \
	VFMADD213PD Z27, x, n;                    \
	VFMADD213PD Z28, x, n;                    \
	VFMADD213PD Z29, x, n;                    \
	VFMADD213PD Z30, x, n;                    \
	VFMADD213PD Z31, x, n;                    \
	VFMADD213PD.BCST EC64_ONE(R8), x, n;       \
	VFMADD213PD.BCST EC64_ONE(R8), x, n;       \
	VPSLLQ      $52, t, t;                    \
	VMULPD      t, n, n;                      \
	VCMPPD.BCST ROW_NLT_UQ, EC64_MIN(R8), n, k; \
	VMOVAPD.Z   n, k, n

// SUM32 adds the 64 lanes of a0-a3 in the tree of combineGo32 and leaves
// the sum in the low lane of xa0. ya0 and xa0 name a0's low 256 and 128
// bits; yt and xt name a temporary. a1 keeps its value when a1 and a3 are
// zero.
#define SUM32(a0, a1, a2, a3, ya0, xa0, yt, xt) \
	VADDPS        a2, a0, a0;     \
	VADDPS        a3, a1, a1;     \
	VADDPS        a1, a0, a0;     \
	VEXTRACTF32X8 $1, a0, yt;     \
	VADDPS        yt, ya0, ya0;   \
	VEXTRACTF128  $1, ya0, xt;    \
	VADDPS        xt, xa0, xa0;   \
	VPERMILPS     $0x4e, xa0, xt; \
	VADDPS        xt, xa0, xa0;   \
	VMOVSHDUP     xa0, xt;        \
	VADDSS        xt, xa0, xa0

// SUM64 is SUM32 for the 32 lanes of float64 and combineGo64.
#define SUM64(a0, a1, a2, a3, ya0, xa0, yt, xt) \
	VADDPD        a2, a0, a0;   \
	VADDPD        a3, a1, a1;   \
	VADDPD        a1, a0, a0;   \
	VEXTRACTF64X4 $1, a0, yt;   \
	VADDPD        yt, ya0, ya0; \
	VEXTRACTF128  $1, ya0, xt;  \
	VADDPD        xt, xa0, xa0; \
	VPERMILPD     $1, xa0, xt;  \
	VADDSD        xt, xa0, xa0

// ROWSETUP loads the arguments shared by rowStatsAVX512F32 and
// rowStatsAVX512F64 into the registers of the row loop. size is the
// log2 of the element size in bytes.
#define ROWSETUP(size) \
	MOVQ dst_base+0(FP), DI;        \
	MOVQ x_base+24(FP), SI;         \
	MOVQ c+48(FP), R14;             \
	MOVQ ys_base+56(FP), BX;        \
	MOVQ ys_len+64(FP), R13;        \
	MOVQ m_base+80(FP), R9;         \
	MOVQ s_base+104(FP), R10;       \
	MOVQ rest_base+128(FP), R11;    \
	MOVQ split_base+152(FP), R12;   \
	LEAQ (BX)(R13*4), BX;           \
	MOVQ R13, AX;                   \
	SHLQ $size, AX;                 \
	ADDQ AX, R9;                    \
	LEAQ (R10)(R13*8), R10;         \
	LEAQ (R11)(R13*8), R11;         \
	ADDQ R13, R12;                  \
	NEGQ R13

// ROWMASKS sets K1-K4 to the lanes [0, c) of a row, in vectors of the given
// number of lanes.
#define ROWMASKS(lanes) \
	MOVQ     $-1, AX;          \
	MOVQ     $64, CX;          \
	SUBQ     R14, CX;          \
	SHRQ     CX, AX;           \
	KMOVQ    AX, K1;           \
	KSHIFTRQ $lanes, K1, K2;   \
	KSHIFTRQ $(2*lanes), K1, K3; \
	KSHIFTRQ $(3*lanes), K1, K4

// AVX2 (+FMA) batch kernels for short rows. A row is up to 8 vectors of 8
// float32 or 4 float64 lanes. The lanes of a vector are selected with masks
// loaded from rowLaneMask32 and rowLaneMask64 (smallrows_amd64.go): the
// vectors at byte offset 4*(64-k) (float32) or 8*(32-k) (float64) from the
// table start select the lanes [0, k) of a row. They match the pure-Go row
// primitives bit for bit as the AVX-512 kernels do:
//
//   - The maximum keeps a lane-wise maximum that skips NaN ("VMAXPS acc, x,
//     t" returns acc when x is NaN, as in maxAVX2F32); a lane past the row's
//     end keeps acc through a blend. A zero maximum is set to +0 when the
//     row holds a +0 and to -0 otherwise.
//   - The row's exponentials, 0 past its end, are stored in a buffer E of
//     64 float32 or 32 float64 at 0(SP), zeroed once per call; the vectors
//     past the row's last one are never written.
//   - The sums add 8 vectors in the tree of combineAVX2F32 and
//     combineAVX2F64. The sum of the whole row adds E; the sum before the
//     label adds E masked to lanes [0, y); the sum after it adds the vectors
//     at E + y + 1, masked to lanes [0, c-y-1), so that element y+1 is in
//     lane 0 as in a fresh rowExpSum. exp(x - m) of an element does not
//     depend on its lane, so the shifted exponentials are the right ones.
//     The loads after the label reach up to 512 bytes past SP, inside the
//     frame; the lanes past E are masked off.
//   - dst is written in the loop of the exponentials, vector by vector,
//     after the vector of x is read; x[y] is compared with m before, so dst
//     may be x.
//
// Registers of the row loop:
//
//	SI x row, DI dst row (0 for none), R14 the row's bytes, BX ys, R12 rows,
//	R13 the row index, CX the label y, R8 the exp constants, R10 the lane
//	mask table, R11 the row's lane masks, R9 the byte offset of a vector,
//	DX 1 when the row is split, AX and DX scratch
//	Y0-Y3 temporaries, Y4 m, Y5-Y7 exp constants, Y8 lane mask, Y9 the
//	maximum, then the sum before y; Y10 -Inf, Y11 zero

// ROWEXP32Y sets n = exp32(x - m) for 8 lanes: the instructions of EXP32Y
// in kernel32_amd64.s. Needs R8 = exp32Consts, Y4 = m, Y5 = EC32_LO,
// Y6 = EC32_MAGIC and Y7 = EC32_ONE; x, t and msk are clobbered.
#define ROWEXP32Y(x, t, n, msk) \
	VSUBPS      Y4, x, x;                     \
	VMAXPS      x, Y5, x;                     \
	VMOVAPS     Y6, t;                        \
	VFMADD231PS EC32_LOG2E(R8), x, t;         \
	VSUBPS      Y6, t, n;                     \
	VFMADD231PS EC32_NLN2HI(R8), n, x;        \
	VFMADD231PS EC32_NLN2LO(R8), n, x;        \
	VMOVUPS     EC32_C6(R8), n;               \
	VFMADD213PS EC32_C5(R8), x, n;            \
	VFMADD213PS EC32_C4(R8), x, n;            \
	VFMADD213PS EC32_C3(R8), x, n;            \
	VFMADD213PS EC32_C2(R8), x, n;            \
	VFMADD213PS Y7, x, n;                     \
	VFMADD213PS Y7, x, n;                     \
	VPSLLD      $23, t, t;                    \
	VMULPS      t, n, n;                      \
	VCMPPS      ROW_NLT_UQ, EC32_MIN(R8), n, msk; \
	VANDPS      msk, n, n

// ROWEXP64Y sets n = exp64(x - m) for 4 lanes: the instructions of EXP64Y
// in kernel64_amd64.s, with the registers of ROWEXP32Y and R8 =
// exp64Consts.
#define ROWEXP64Y(x, t, n, msk) \
	VSUBPD      Y4, x, x;                     \
	VMAXPD      x, Y5, x;                     \
	VMOVAPD     Y6, t;                        \
	VFMADD231PD EC64_LOG2E(R8), x, t;         \
	VSUBPD      Y6, t, n;                     \
	VFMADD231PD EC64_NLN2HI(R8), n, x;        \
	VFMADD231PD EC64_NLN2LO(R8), n, x;        \
	VMOVUPD     EC64_C11(R8), n;              \
	VFMADD213PD EC64_C10(R8), x, n;           \
	VFMADD213PD EC64_C9(R8), x, n;            \
	VFMADD213PD EC64_C8(R8), x, n;            \
	VFMADD213PD EC64_C7(R8), x, n;            \
	VFMADD213PD EC64_C6(R8), x, n;            \
	VFMADD213PD EC64_C5(R8), x, n;            \
	VFMADD213PD EC64_C4(R8), x, n;            \
	VFMADD213PD EC64_C3(R8), x, n;            \
	VFMADD213PD EC64_C2(R8), x, n;            \
	VFMADD213PD Y7, x, n;                     \
	VFMADD213PD Y7, x, n;                     \
	VPSLLQ      $52, t, t;                    \
	VMULPD      t, n, n;                      \
	VCMPPD      ROW_NLT_UQ, EC64_MIN(R8), n, msk; \
	VANDPD      msk, n, n

// TREE32 adds the 64 float32 at base, each vector ANDed with the mask at the
// same offset from mb, in the tree of combineAVX2F32, and leaves the sum in
// the low lane of X0. Y1-Y3 and Y8 are clobbered.
#define TREE32(base, mb) \
	VMOVUPS      0(base), Y0;      \
	VANDPS       0(mb), Y0, Y0;    \
	VMOVUPS      32(base), Y1;     \
	VANDPS       32(mb), Y1, Y1;   \
	VMOVUPS      64(base), Y2;     \
	VANDPS       64(mb), Y2, Y2;   \
	VMOVUPS      96(base), Y3;     \
	VANDPS       96(mb), Y3, Y3;   \
	VMOVUPS      128(base), Y8;    \
	VANDPS       128(mb), Y8, Y8;  \
	VADDPS       Y8, Y0, Y0;       \
	VMOVUPS      160(base), Y8;    \
	VANDPS       160(mb), Y8, Y8;  \
	VADDPS       Y8, Y1, Y1;       \
	VMOVUPS      192(base), Y8;    \
	VANDPS       192(mb), Y8, Y8;  \
	VADDPS       Y8, Y2, Y2;       \
	VMOVUPS      224(base), Y8;    \
	VANDPS       224(mb), Y8, Y8;  \
	VADDPS       Y8, Y3, Y3;       \
	VADDPS       Y2, Y0, Y0;       \
	VADDPS       Y3, Y1, Y1;       \
	VADDPS       Y1, Y0, Y0;       \
	VEXTRACTF128 $1, Y0, X1;       \
	VADDPS       X1, X0, X0;       \
	VPERMILPS    $0x4e, X0, X1;    \
	VADDPS       X1, X0, X0;       \
	VMOVSHDUP    X0, X1;           \
	VADDSS       X1, X0, X0

// TREE64 is TREE32 for 32 float64 and combineAVX2F64.
#define TREE64(base, mb) \
	VMOVUPD      0(base), Y0;      \
	VANDPD       0(mb), Y0, Y0;    \
	VMOVUPD      32(base), Y1;     \
	VANDPD       32(mb), Y1, Y1;   \
	VMOVUPD      64(base), Y2;     \
	VANDPD       64(mb), Y2, Y2;   \
	VMOVUPD      96(base), Y3;     \
	VANDPD       96(mb), Y3, Y3;   \
	VMOVUPD      128(base), Y8;    \
	VANDPD       128(mb), Y8, Y8;  \
	VADDPD       Y8, Y0, Y0;       \
	VMOVUPD      160(base), Y8;    \
	VANDPD       160(mb), Y8, Y8;  \
	VADDPD       Y8, Y1, Y1;       \
	VMOVUPD      192(base), Y8;    \
	VANDPD       192(mb), Y8, Y8;  \
	VADDPD       Y8, Y2, Y2;       \
	VMOVUPD      224(base), Y8;    \
	VANDPD       224(mb), Y8, Y8;  \
	VADDPD       Y8, Y3, Y3;       \
	VADDPD       Y2, Y0, Y0;       \
	VADDPD       Y3, Y1, Y1;       \
	VADDPD       Y1, Y0, Y0;       \
	VEXTRACTF128 $1, Y0, X1;       \
	VADDPD       X1, X0, X0;       \
	VPERMILPD    $1, X0, X1;       \
	VADDSD       X1, X0, X0

// ROWSETUP2 loads the registers of the row loop shared by rowStatsAVX2F32
// and rowStatsAVX2F64, with the element size of 1<<size bytes, and zeroes E.
// R8 and R10 are set before.
#define ROWSETUP2(size) \
	MOVQ    dst_base+0(FP), DI;     \
	MOVQ    x_base+24(FP), SI;      \
	MOVQ    c+48(FP), R14;          \
	SHLQ    $size, R14;             \
	MOVQ    ys_base+56(FP), BX;     \
	MOVQ    ys_len+64(FP), R12;     \
	MOVQ    $256, R11;              \
	SUBQ    R14, R11;               \
	ADDQ    R10, R11;               \
	VXORPS  Y0, Y0, Y0;             \
	VMOVUPS Y0, 0(SP);              \
	VMOVUPS Y0, 32(SP);             \
	VMOVUPS Y0, 64(SP);             \
	VMOVUPS Y0, 96(SP);             \
	VMOVUPS Y0, 128(SP);            \
	VMOVUPS Y0, 160(SP);            \
	VMOVUPS Y0, 192(SP);            \
	VMOVUPS Y0, 224(SP);            \
	VPXOR   Y11, Y11, Y11;          \
	XORQ    R13, R13

// SCALESETUP2 loads the registers of scaleRowsAVX2F32 and scaleRowsAVX2F64:
// DI dst, SI src, R14 the row's bytes, BX f, R12 the bytes of the row's
// whole vectors, R10 the lanes of its last partial vector (0 for none) and
// Y6 their mask, R13 the row index running from -rows to 0. lanes is the
// number of lanes of a vector, size the log2 of the element size, mask the
// lane mask table.
#define SCALESETUP2(lanes, size, mask) \
	MOVQ    dst_base+0(FP), DI;   \
	MOVQ    src_base+24(FP), SI;  \
	MOVQ    c+48(FP), R14;        \
	MOVQ    R14, R10;             \
	ANDQ    $(lanes-1), R10;      \
	MOVQ    R14, R12;             \
	SUBQ    R10, R12;             \
	SHLQ    $size, R12;           \
	SHLQ    $size, R14;           \
	MOVQ    R10, AX;              \
	SHLQ    $size, AX;            \
	LEAQ    mask(SB), DX;         \
	ADDQ    $256, DX;             \
	SUBQ    AX, DX;               \
	VMOVUPS (DX), Y6;             \
	MOVQ    f_base+56(FP), BX;    \
	MOVQ    f_len+64(FP), R13

// func rowStatsAVX512F32(dst, x []float32, c int, ys []int32, m []float32, s, rest []float64, split []bool) (done int)
TEXT ·rowStatsAVX512F32(SB), NOSPLIT, $0-184
	ROWSETUP(2)

	LEAQ         ·exp32Consts(SB), R8
	VBROADCASTSS EC32_LO(R8), Z17
	VBROADCASTSS EC32_LOG2E(R8), Z18
	VBROADCASTSS EC32_MAGIC(R8), Z19
	VBROADCASTSS EC32_NLN2HI(R8), Z20
	VBROADCASTSS EC32_NLN2LO(R8), Z21
	VBROADCASTSS EC32_C6(R8), Z22
	VBROADCASTSS EC32_C5(R8), Z23
	VBROADCASTSS EC32_C4(R8), Z24
	VBROADCASTSS EC32_C3(R8), Z25
	VBROADCASTSS EC32_C2(R8), Z26
	VBROADCASTSS EC32_ONE(R8), Z27
	VBROADCASTSS EC32_MIN(R8), Z28
	MOVL         $0xff800000, AX // -Inf
	VPBROADCASTD AX, Z29

	ROWMASKS(16)
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

	TESTQ R13, R13
	JZ    f32_finish

f32_row:
	MOVLQSX (BX)(R13*4), CX
	CMPQ    CX, R14
	JAE     f32_bad // a negative label compares as a large unsigned one

	// Load the row and take its maximum, skipping NaN.
	VMOVAPS   Z29, Z16
	VMOVUPS.Z (SI), K1, Z0
	VMAXPS    Z16, Z0, K1, Z16
	CMPQ      R14, $16
	JBE       f32_reduce
	VMOVUPS.Z 64(SI), K2, Z1
	VMAXPS    Z16, Z1, K2, Z16
	CMPQ      R14, $32
	JBE       f32_reduce
	VMOVUPS.Z 128(SI), K3, Z2
	VMAXPS    Z16, Z2, K3, Z16
	CMPQ      R14, $48
	JBE       f32_reduce
	VMOVUPS.Z 192(SI), K4, Z3
	VMAXPS    Z16, Z3, K4, Z16

	// Every lane of Z16 ends up holding the maximum, or a zero of either
	// sign when the maximum is zero.
f32_reduce:
	VSHUFF32X4 $0x4e, Z16, Z16, Z4
	VMAXPS     Z4, Z16, Z16
	VSHUFF32X4 $0xb1, Z16, Z16, Z4
	VMAXPS     Z4, Z16, Z16
	VPERMILPS  $0x4e, Z16, Z4
	VMAXPS     Z4, Z16, Z16
	VPERMILPS  $0xb1, Z16, Z4
	VMAXPS     Z4, Z16, Z16
	VMOVD      X16, AX
	TESTL      $0x7fffffff, AX
	JNZ        f32_max

	// A zero maximum is +0 when a lane of the row holds +0 (all bits zero).
	VPTESTNMD Z0, Z0, K1, K5
	VPTESTNMD Z1, Z1, K2, K6
	KORW      K6, K5, K5
	VPTESTNMD Z2, Z2, K3, K6
	KORW      K6, K5, K5
	VPTESTNMD Z3, Z3, K4, K6
	KORW      K6, K5, K5
	VPXORD    Z16, Z16, Z16
	KORTESTW  K5, K5
	JNZ       f32_max
	MOVL      $0x80000000, AX // -0
	VPBROADCASTD AX, Z16

f32_max:
	VMOVSS X16, (R9)(R13*4)

	// The row's exponentials, 0 past its end.
	ROWEXP32Z(Z0, Z4, Z8, K5)
	VMOVAPS.Z Z8, K1, Z8
	CMPQ      R14, $16
	JBE       f32_exps
	ROWEXP32Z(Z1, Z5, Z9, K5)
	VMOVAPS.Z Z9, K2, Z9
	CMPQ      R14, $32
	JBE       f32_exps
	ROWEXP32Z(Z2, Z6, Z10, K5)
	VMOVAPS.Z Z10, K3, Z10
	CMPQ      R14, $48
	JBE       f32_exps
	ROWEXP32Z(Z3, Z7, Z11, K5)
	VMOVAPS.Z Z11, K4, Z11

	// Split when x[y] == m (ordered) and m is finite. AX holds the bits of
	// m, or of a zero.
f32_exps:
	VUCOMISS (SI)(CX*4), X16
	JNE      f32_whole
	JPS      f32_whole
	ANDL     $0x7fffffff, AX
	CMPL     AX, $0x7f800000
	JEQ      f32_whole

	// K7: lanes [0, y). K6: lanes [0, c-y-1) of the elements after y, which
	// are loaded now, before dst (which may be x) is written.
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K7
	LEAQ 4(SI)(CX*4), DX
	NOTQ CX
	ADDQ R14, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K6
	VMOVUPS.Z (DX), K6, Z12
	CMPQ      R14, $16
	JBE       f32_store
	KSHIFTRQ  $16, K6, K5
	VMOVUPS.Z 64(DX), K5, Z13
	CMPQ      R14, $32
	JBE       f32_store
	KSHIFTRQ  $32, K6, K5
	VMOVUPS.Z 128(DX), K5, Z14
	CMPQ      R14, $48
	JBE       f32_store
	KSHIFTRQ  $48, K6, K5
	VMOVUPS.Z 192(DX), K5, Z15
	JMP       f32_store

f32_whole:
	XORL DX, DX

f32_store:
	TESTQ   DI, DI
	JZ      f32_sums
	VMOVUPS Z8, K1, (DI)
	CMPQ    R14, $16
	JBE     f32_stored
	VMOVUPS Z9, K2, 64(DI)
	CMPQ    R14, $32
	JBE     f32_stored
	VMOVUPS Z10, K3, 128(DI)
	CMPQ    R14, $48
	JBE     f32_stored
	VMOVUPS Z11, K4, 192(DI)

f32_stored:
	LEAQ (DI)(R14*4), DI

f32_sums:
	TESTQ DX, DX
	JNZ   f32_split

	// s = float64(sum of the row), rest = 0, split = false
	SUM32(Z8, Z9, Z10, Z11, Y8, X8, Y12, X12)
	VCVTSS2SD X8, X8, X8
	VMOVSD    X8, (R10)(R13*8)
	MOVQ      $0, (R11)(R13*8)
	MOVB      $0, (R12)(R13*1)
	JMP       f32_next

	// rest = float64(sum before y) + float64(sum after y), s = 1 + rest,
	// split = true
f32_split:
	ROWEXP32Z(Z12, Z4, Z0, K5)
	VMOVAPS.Z Z0, K6, Z0
	CMPQ      R14, $16
	JBE       f32_after
	KSHIFTRQ  $16, K6, K6
	ROWEXP32Z(Z13, Z5, Z1, K5)
	VMOVAPS.Z Z1, K6, Z1
	CMPQ      R14, $32
	JBE       f32_after
	KSHIFTRQ  $16, K6, K6
	ROWEXP32Z(Z14, Z6, Z2, K5)
	VMOVAPS.Z Z2, K6, Z2
	CMPQ      R14, $48
	JBE       f32_after
	KSHIFTRQ  $16, K6, K6
	ROWEXP32Z(Z15, Z7, Z3, K5)
	VMOVAPS.Z Z3, K6, Z3

f32_after:
	VMOVAPS.Z Z8, K7, Z8
	KSHIFTRQ  $16, K7, K7
	VMOVAPS.Z Z9, K7, Z9
	KSHIFTRQ  $16, K7, K7
	VMOVAPS.Z Z10, K7, Z10
	KSHIFTRQ  $16, K7, K7
	VMOVAPS.Z Z11, K7, Z11
	SUM32(Z8, Z9, Z10, Z11, Y8, X8, Y12, X12)
	SUM32(Z0, Z1, Z2, Z3, Y0, X0, Y4, X4)
	VCVTSS2SD X8, X8, X8
	VCVTSS2SD X0, X0, X0
	VADDSD    X0, X8, X8
	VMOVSD    X8, (R11)(R13*8)
	MOVQ      $0x3ff0000000000000, AX // 1.0
	VMOVQ     AX, X4
	VADDSD    X8, X4, X4
	VMOVSD    X4, (R10)(R13*8)
	MOVB      $1, (R12)(R13*1)

f32_next:
	LEAQ (SI)(R14*4), SI
	INCQ R13
	JNZ  f32_row

f32_finish:
	MOVQ ys_len+64(FP), AX
	MOVQ AX, done+176(FP)
	VZEROUPPER
	RET

f32_bad:
	MOVQ ys_len+64(FP), AX
	ADDQ R13, AX
	MOVQ AX, done+176(FP)
	VZEROUPPER
	RET

// func rowStatsAVX512F64(dst, x []float64, c int, ys []int32, m []float64, s, rest []float64, split []bool) (done int)
TEXT ·rowStatsAVX512F64(SB), NOSPLIT, $0-184
	ROWSETUP(3)

	LEAQ         ·exp64Consts(SB), R8
	VBROADCASTSD EC64_LO(R8), Z17
	VBROADCASTSD EC64_LOG2E(R8), Z18
	VBROADCASTSD EC64_MAGIC(R8), Z19
	VBROADCASTSD EC64_NLN2HI(R8), Z20
	VBROADCASTSD EC64_NLN2LO(R8), Z21
	VBROADCASTSD EC64_C11(R8), Z22
	VBROADCASTSD EC64_C10(R8), Z23
	VBROADCASTSD EC64_C9(R8), Z24
	VBROADCASTSD EC64_C8(R8), Z25
	VBROADCASTSD EC64_C7(R8), Z26
	VBROADCASTSD EC64_C6(R8), Z27
	VBROADCASTSD EC64_C5(R8), Z28
	VBROADCASTSD EC64_C4(R8), Z29
	VBROADCASTSD EC64_C3(R8), Z30
	VBROADCASTSD EC64_C2(R8), Z31

	ROWMASKS(8)
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

	TESTQ R13, R13
	JZ    f64_finish

f64_row:
	MOVLQSX (BX)(R13*4), CX
	CMPQ    CX, R14
	JAE     f64_bad // a negative label compares as a large unsigned one

	// Load the row and take its maximum, skipping NaN.
	MOVQ         $0xfff0000000000000, AX // -Inf
	VPBROADCASTQ AX, Z16
	VMOVUPD.Z    (SI), K1, Z0
	VMAXPD       Z16, Z0, K1, Z16
	CMPQ         R14, $8
	JBE          f64_reduce
	VMOVUPD.Z    64(SI), K2, Z1
	VMAXPD       Z16, Z1, K2, Z16
	CMPQ         R14, $16
	JBE          f64_reduce
	VMOVUPD.Z    128(SI), K3, Z2
	VMAXPD       Z16, Z2, K3, Z16
	CMPQ         R14, $24
	JBE          f64_reduce
	VMOVUPD.Z    192(SI), K4, Z3
	VMAXPD       Z16, Z3, K4, Z16

f64_reduce:
	VSHUFF64X2 $0x4e, Z16, Z16, Z4
	VMAXPD     Z4, Z16, Z16
	VSHUFF64X2 $0xb1, Z16, Z16, Z4
	VMAXPD     Z4, Z16, Z16
	VPERMILPD  $0x55, Z16, Z4
	VMAXPD     Z4, Z16, Z16
	VMOVQ      X16, AX
	SHLQ       $1, AX // drop the sign
	JNZ        f64_max

	VPTESTNMQ Z0, Z0, K1, K5
	VPTESTNMQ Z1, Z1, K2, K6
	KORW      K6, K5, K5
	VPTESTNMQ Z2, Z2, K3, K6
	KORW      K6, K5, K5
	VPTESTNMQ Z3, Z3, K4, K6
	KORW      K6, K5, K5
	VPXORQ    Z16, Z16, Z16
	KORTESTW  K5, K5
	JNZ       f64_max
	MOVQ      $0x8000000000000000, DX // -0
	VPBROADCASTQ DX, Z16

f64_max:
	VMOVSD X16, (R9)(R13*8)

	ROWEXP64Z(Z0, Z4, Z8, K5)
	VMOVAPD.Z Z8, K1, Z8
	CMPQ      R14, $8
	JBE       f64_exps
	ROWEXP64Z(Z1, Z5, Z9, K5)
	VMOVAPD.Z Z9, K2, Z9
	CMPQ      R14, $16
	JBE       f64_exps
	ROWEXP64Z(Z2, Z6, Z10, K5)
	VMOVAPD.Z Z10, K3, Z10
	CMPQ      R14, $24
	JBE       f64_exps
	ROWEXP64Z(Z3, Z7, Z11, K5)
	VMOVAPD.Z Z11, K4, Z11

	// Split when x[y] == m (ordered) and m is finite. AX holds the bits of
	// m shifted left by one, or 0 for a zero.
f64_exps:
	VUCOMISD (SI)(CX*8), X16
	JNE      f64_whole
	JPS      f64_whole
	MOVQ     $0xffe0000000000000, DX // Inf << 1
	CMPQ     AX, DX
	JEQ      f64_whole

	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K7
	LEAQ 8(SI)(CX*8), DX
	NOTQ CX
	ADDQ R14, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K6
	VMOVUPD.Z (DX), K6, Z12
	CMPQ      R14, $8
	JBE       f64_store
	KSHIFTRQ  $8, K6, K5
	VMOVUPD.Z 64(DX), K5, Z13
	CMPQ      R14, $16
	JBE       f64_store
	KSHIFTRQ  $16, K6, K5
	VMOVUPD.Z 128(DX), K5, Z14
	CMPQ      R14, $24
	JBE       f64_store
	KSHIFTRQ  $24, K6, K5
	VMOVUPD.Z 192(DX), K5, Z15
	JMP       f64_store

f64_whole:
	XORL DX, DX

f64_store:
	TESTQ   DI, DI
	JZ      f64_sums
	VMOVUPD Z8, K1, (DI)
	CMPQ    R14, $8
	JBE     f64_stored
	VMOVUPD Z9, K2, 64(DI)
	CMPQ    R14, $16
	JBE     f64_stored
	VMOVUPD Z10, K3, 128(DI)
	CMPQ    R14, $24
	JBE     f64_stored
	VMOVUPD Z11, K4, 192(DI)

f64_stored:
	LEAQ (DI)(R14*8), DI

f64_sums:
	TESTQ DX, DX
	JNZ   f64_split

	SUM64(Z8, Z9, Z10, Z11, Y8, X8, Y12, X12)
	VMOVSD X8, (R10)(R13*8)
	MOVQ   $0, (R11)(R13*8)
	MOVB   $0, (R12)(R13*1)
	JMP    f64_next

f64_split:
	ROWEXP64Z(Z12, Z4, Z0, K5)
	VMOVAPD.Z Z0, K6, Z0
	CMPQ      R14, $8
	JBE       f64_after
	KSHIFTRQ  $8, K6, K6
	ROWEXP64Z(Z13, Z5, Z1, K5)
	VMOVAPD.Z Z1, K6, Z1
	CMPQ      R14, $16
	JBE       f64_after
	KSHIFTRQ  $8, K6, K6
	ROWEXP64Z(Z14, Z6, Z2, K5)
	VMOVAPD.Z Z2, K6, Z2
	CMPQ      R14, $24
	JBE       f64_after
	KSHIFTRQ  $8, K6, K6
	ROWEXP64Z(Z15, Z7, Z3, K5)
	VMOVAPD.Z Z3, K6, Z3

f64_after:
	VMOVAPD.Z Z8, K7, Z8
	KSHIFTRQ  $8, K7, K7
	VMOVAPD.Z Z9, K7, Z9
	KSHIFTRQ  $8, K7, K7
	VMOVAPD.Z Z10, K7, Z10
	KSHIFTRQ  $8, K7, K7
	VMOVAPD.Z Z11, K7, Z11
	SUM64(Z8, Z9, Z10, Z11, Y8, X8, Y12, X12)
	SUM64(Z0, Z1, Z2, Z3, Y0, X0, Y4, X4)
	VADDSD X0, X8, X8
	VMOVSD X8, (R11)(R13*8)
	VADDSD EC64_ONE(R8), X8, X4
	VMOVSD X4, (R10)(R13*8)
	MOVB   $1, (R12)(R13*1)

f64_next:
	LEAQ (SI)(R14*8), SI
	INCQ R13
	JNZ  f64_row

f64_finish:
	MOVQ ys_len+64(FP), AX
	MOVQ AX, done+176(FP)
	VZEROUPPER
	RET

f64_bad:
	MOVQ ys_len+64(FP), AX
	ADDQ R13, AX
	MOVQ AX, done+176(FP)
	VZEROUPPER
	RET

// func scaleRowsAVX512F32(dst, src []float32, c int, f []float32)
TEXT ·scaleRowsAVX512F32(SB), NOSPLIT, $0-80
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ c+48(FP), R14
	MOVQ f_base+56(FP), BX
	MOVQ f_len+64(FP), R13
	LEAQ (BX)(R13*4), BX
	NEGQ R13
	ROWMASKS(16)
	TESTQ R13, R13
	JZ    scale32_done

scale32_row:
	VBROADCASTSS (BX)(R13*4), Z16
	VMULPS.Z 0(SI), Z16, K1, Z0
	VMOVUPS Z0, K1, 0(DI)
	CMPQ R14, $16
	JBE  scale32_next
	VMULPS.Z 64(SI), Z16, K2, Z0
	VMOVUPS Z0, K2, 64(DI)
	CMPQ R14, $32
	JBE  scale32_next
	VMULPS.Z 128(SI), Z16, K3, Z0
	VMOVUPS Z0, K3, 128(DI)
	CMPQ R14, $48
	JBE  scale32_next
	VMULPS.Z 192(SI), Z16, K4, Z0
	VMOVUPS Z0, K4, 192(DI)

scale32_next:
	LEAQ (SI)(R14*4), SI
	LEAQ (DI)(R14*4), DI
	INCQ R13
	JNZ  scale32_row

scale32_done:
	VZEROUPPER
	RET

// func scaleRowsAVX512F64(dst, src []float64, c int, f []float64)
TEXT ·scaleRowsAVX512F64(SB), NOSPLIT, $0-80
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ c+48(FP), R14
	MOVQ f_base+56(FP), BX
	MOVQ f_len+64(FP), R13
	LEAQ (BX)(R13*8), BX
	NEGQ R13
	ROWMASKS(8)
	TESTQ R13, R13
	JZ    scale64_done

scale64_row:
	VBROADCASTSD (BX)(R13*8), Z16
	VMULPD.Z 0(SI), Z16, K1, Z0
	VMOVUPD Z0, K1, 0(DI)
	CMPQ R14, $8
	JBE  scale64_next
	VMULPD.Z 64(SI), Z16, K2, Z0
	VMOVUPD Z0, K2, 64(DI)
	CMPQ R14, $16
	JBE  scale64_next
	VMULPD.Z 128(SI), Z16, K3, Z0
	VMOVUPD Z0, K3, 128(DI)
	CMPQ R14, $24
	JBE  scale64_next
	VMULPD.Z 192(SI), Z16, K4, Z0
	VMOVUPD Z0, K4, 192(DI)

scale64_next:
	LEAQ (SI)(R14*8), SI
	LEAQ (DI)(R14*8), DI
	INCQ R13
	JNZ  scale64_row

scale64_done:
	VZEROUPPER
	RET

// func rowStatsAVX2F32(dst, x []float32, c int, ys []int32, m []float32, s, rest []float64, split []bool) (done int)
TEXT ·rowStatsAVX2F32(SB), NOSPLIT, $512-184
	LEAQ ·exp32Consts(SB), R8
	LEAQ ·rowLaneMask32(SB), R10
	ROWSETUP2(2)
	VMOVUPS      EC32_LO(R8), Y5
	VMOVUPS      EC32_MAGIC(R8), Y6
	VMOVUPS      EC32_ONE(R8), Y7
	MOVL         $0xff800000, AX // -Inf
	VMOVD        AX, X10
	VBROADCASTSS X10, Y10
	TESTQ        R12, R12
	JZ           a32_finish

a32_row:
	MOVLQSX (BX)(R13*4), CX
	CMPQ    CX, c+48(FP)
	JAE     a32_bad // a negative label compares as a large unsigned one

	// The maximum, skipping NaN and the lanes past the row's end.
	VMOVAPS Y10, Y9
	XORQ    R9, R9

a32_maxloop:
	VMOVUPS    (R11)(R9*1), Y8
	VMASKMOVPS (SI)(R9*1), Y8, Y0
	VMAXPS     Y9, Y0, Y1
	VBLENDVPS  Y8, Y1, Y9, Y9
	ADDQ       $32, R9
	CMPQ       R9, R14
	JB         a32_maxloop

	// The lanes hold no NaN, so the order does not matter.
	VEXTRACTF128 $1, Y9, X1
	VMAXPS       X1, X9, X9
	VPERMILPS    $0x4e, X9, X1
	VMAXPS       X1, X9, X9
	VMOVSHDUP    X9, X1
	VMAXPS       X1, X9, X9
	VMOVD        X9, AX
	TESTL        $0x7fffffff, AX
	JNZ          a32_max

	// A zero maximum is +0 when a lane of the row holds +0 (all bits zero).
	XORL R9, R9
	XORL AX, AX

a32_zeroloop:
	VMOVUPS    (R11)(R9*1), Y8
	VMASKMOVPS (SI)(R9*1), Y8, Y0
	VPCMPEQD   Y11, Y0, Y0
	VPTEST     Y8, Y0
	JNZ        a32_zero
	ADDQ       $32, R9
	CMPQ       R9, R14
	JB         a32_zeroloop
	MOVL       $0x80000000, AX // -0

a32_zero:
	VMOVD AX, X9

a32_max:
	VBROADCASTSS X9, Y4
	MOVQ         m_base+80(FP), DX
	VMOVSS       X9, (DX)(R13*4)

	// Split (DX = 1) when x[y] == m (ordered) and m is finite. AX holds the
	// bits of m.
	VUCOMISS (SI)(CX*4), X9
	JNE      a32_whole
	JPS      a32_whole
	ANDL     $0x7fffffff, AX
	CMPL     AX, $0x7f800000
	JEQ      a32_whole
	MOVL     $1, DX
	JMP      a32_exps

a32_whole:
	XORL DX, DX

	// The row's exponentials, to E and dst.
a32_exps:
	XORQ R9, R9

a32_exploop:
	VMOVUPS    (R11)(R9*1), Y8
	VMASKMOVPS (SI)(R9*1), Y8, Y0
	ROWEXP32Y(Y0, Y1, Y2, Y3)
	VANDPS     Y8, Y2, Y2
	VMOVUPS    Y2, (SP)(R9*1)
	TESTQ      DI, DI
	JZ         2(PC)
	VMASKMOVPS Y2, Y8, (DI)(R9*1)
	ADDQ       $32, R9
	CMPQ       R9, R14
	JB         a32_exploop

	TESTL DX, DX
	JNZ   a32_split

	// s = float64(sum of the row), rest = 0, split = false
	TREE32(SP, R10)
	VCVTSS2SD X0, X0, X0
	MOVQ      s_base+104(FP), DX
	VMOVSD    X0, (DX)(R13*8)
	MOVQ      rest_base+128(FP), DX
	MOVQ      $0, (DX)(R13*8)
	MOVQ      split_base+152(FP), DX
	MOVB      $0, (DX)(R13*1)
	JMP       a32_next

	// rest = float64(sum before y) + float64(sum after y), s = 1 + rest,
	// split = true
a32_split:
	LEAQ      256(R10), DX
	MOVQ      CX, AX
	SHLQ      $2, AX
	SUBQ      AX, DX
	TREE32(SP, DX)
	VCVTSS2SD X0, X0, X9
	LEAQ      4(SP)(CX*4), AX
	LEAQ      260(R10)(CX*4), DX
	SUBQ      R14, DX
	TREE32(AX, DX)
	VCVTSS2SD X0, X0, X0
	VADDSD    X0, X9, X9
	MOVQ      rest_base+128(FP), DX
	VMOVSD    X9, (DX)(R13*8)
	MOVQ      $0x3ff0000000000000, AX // 1.0
	VMOVQ     AX, X1
	VADDSD    X9, X1, X1
	MOVQ      s_base+104(FP), DX
	VMOVSD    X1, (DX)(R13*8)
	MOVQ      split_base+152(FP), DX
	MOVB      $1, (DX)(R13*1)

a32_next:
	ADDQ  R14, SI
	TESTQ DI, DI
	JZ    2(PC)
	ADDQ  R14, DI
	INCQ  R13
	CMPQ  R13, R12
	JB    a32_row

a32_finish:
	MOVQ R12, done+176(FP)
	VZEROUPPER
	RET

a32_bad:
	MOVQ R13, done+176(FP)
	VZEROUPPER
	RET

// func rowStatsAVX2F64(dst, x []float64, c int, ys []int32, m []float64, s, rest []float64, split []bool) (done int)
TEXT ·rowStatsAVX2F64(SB), NOSPLIT, $512-184
	LEAQ ·exp64Consts(SB), R8
	LEAQ ·rowLaneMask64(SB), R10
	ROWSETUP2(3)
	VMOVUPD      EC64_LO(R8), Y5
	VMOVUPD      EC64_MAGIC(R8), Y6
	VMOVUPD      EC64_ONE(R8), Y7
	MOVQ         $0xfff0000000000000, AX // -Inf
	VMOVQ        AX, X10
	VBROADCASTSD X10, Y10
	TESTQ        R12, R12
	JZ           a64_finish

a64_row:
	MOVLQSX (BX)(R13*4), CX
	CMPQ    CX, c+48(FP)
	JAE     a64_bad // a negative label compares as a large unsigned one

	VMOVAPD Y10, Y9
	XORQ    R9, R9

a64_maxloop:
	VMOVUPD    (R11)(R9*1), Y8
	VMASKMOVPD (SI)(R9*1), Y8, Y0
	VMAXPD     Y9, Y0, Y1
	VBLENDVPD  Y8, Y1, Y9, Y9
	ADDQ       $32, R9
	CMPQ       R9, R14
	JB         a64_maxloop

	VEXTRACTF128 $1, Y9, X1
	VMAXPD       X1, X9, X9
	VPERMILPD    $1, X9, X1
	VMAXPD       X1, X9, X9
	VMOVQ        X9, AX
	MOVQ         AX, DX
	SHLQ         $1, DX // drop the sign
	JNZ          a64_max

	XORL R9, R9
	XORL AX, AX

a64_zeroloop:
	VMOVUPD    (R11)(R9*1), Y8
	VMASKMOVPD (SI)(R9*1), Y8, Y0
	VPCMPEQQ   Y11, Y0, Y0
	VPTEST     Y8, Y0
	JNZ        a64_zero
	ADDQ       $32, R9
	CMPQ       R9, R14
	JB         a64_zeroloop
	MOVQ       $0x8000000000000000, AX // -0

a64_zero:
	VMOVQ AX, X9

a64_max:
	VBROADCASTSD X9, Y4
	MOVQ         m_base+80(FP), DX
	VMOVSD       X9, (DX)(R13*8)

	VUCOMISD (SI)(CX*8), X9
	JNE      a64_whole
	JPS      a64_whole
	SHLQ     $1, AX
	MOVQ     $0xffe0000000000000, DX // Inf << 1
	CMPQ     AX, DX
	JEQ      a64_whole
	MOVL     $1, DX
	JMP      a64_exps

a64_whole:
	XORL DX, DX

a64_exps:
	XORQ R9, R9

a64_exploop:
	VMOVUPD    (R11)(R9*1), Y8
	VMASKMOVPD (SI)(R9*1), Y8, Y0
	ROWEXP64Y(Y0, Y1, Y2, Y3)
	VANDPD     Y8, Y2, Y2
	VMOVUPD    Y2, (SP)(R9*1)
	TESTQ      DI, DI
	JZ         2(PC)
	VMASKMOVPD Y2, Y8, (DI)(R9*1)
	ADDQ       $32, R9
	CMPQ       R9, R14
	JB         a64_exploop

	TESTL DX, DX
	JNZ   a64_split

	TREE64(SP, R10)
	MOVQ   s_base+104(FP), DX
	VMOVSD X0, (DX)(R13*8)
	MOVQ   rest_base+128(FP), DX
	MOVQ   $0, (DX)(R13*8)
	MOVQ   split_base+152(FP), DX
	MOVB   $0, (DX)(R13*1)
	JMP    a64_next

a64_split:
	LEAQ   256(R10), DX
	MOVQ   CX, AX
	SHLQ   $3, AX
	SUBQ   AX, DX
	TREE64(SP, DX)
	VMOVAPD X0, X9
	LEAQ   8(SP)(CX*8), AX
	LEAQ   264(R10)(CX*8), DX
	SUBQ   R14, DX
	TREE64(AX, DX)
	VADDSD X0, X9, X9
	MOVQ   rest_base+128(FP), DX
	VMOVSD X9, (DX)(R13*8)
	VADDSD EC64_ONE(R8), X9, X1
	MOVQ   s_base+104(FP), DX
	VMOVSD X1, (DX)(R13*8)
	MOVQ   split_base+152(FP), DX
	MOVB   $1, (DX)(R13*1)

a64_next:
	ADDQ  R14, SI
	TESTQ DI, DI
	JZ    2(PC)
	ADDQ  R14, DI
	INCQ  R13
	CMPQ  R13, R12
	JB    a64_row

a64_finish:
	MOVQ R12, done+176(FP)
	VZEROUPPER
	RET

a64_bad:
	MOVQ R13, done+176(FP)
	VZEROUPPER
	RET

// func scaleRowsAVX2F32(dst, src []float32, c int, f []float32)
TEXT ·scaleRowsAVX2F32(SB), NOSPLIT, $0-80
	SCALESETUP2(8, 2, ·rowLaneMask32)
	LEAQ  (BX)(R13*4), BX
	NEGQ  R13
	JZ    s32_done

s32_row:
	VBROADCASTSS (BX)(R13*4), Y7
	XORQ         R9, R9

s32_whole:
	CMPQ    R9, R12
	JAE     s32_tail
	VMULPS  (SI)(R9*1), Y7, Y0
	VMOVUPS Y0, (DI)(R9*1)
	ADDQ    $32, R9
	JMP     s32_whole

s32_tail:
	TESTQ      R10, R10
	JZ         s32_next
	VMASKMOVPS (SI)(R9*1), Y6, Y0
	VMULPS     Y7, Y0, Y0
	VMASKMOVPS Y0, Y6, (DI)(R9*1)

s32_next:
	ADDQ R14, SI
	ADDQ R14, DI
	INCQ R13
	JNZ  s32_row

s32_done:
	VZEROUPPER
	RET

// func scaleRowsAVX2F64(dst, src []float64, c int, f []float64)
TEXT ·scaleRowsAVX2F64(SB), NOSPLIT, $0-80
	SCALESETUP2(4, 3, ·rowLaneMask64)
	LEAQ  (BX)(R13*8), BX
	NEGQ  R13
	JZ    s64_done

s64_row:
	VBROADCASTSD (BX)(R13*8), Y7
	XORQ         R9, R9

s64_whole:
	CMPQ    R9, R12
	JAE     s64_tail
	VMULPD  (SI)(R9*1), Y7, Y0
	VMOVUPD Y0, (DI)(R9*1)
	ADDQ    $32, R9
	JMP     s64_whole

s64_tail:
	TESTQ      R10, R10
	JZ         s64_next
	VMASKMOVPD (SI)(R9*1), Y6, Y0
	VMULPD     Y7, Y0, Y0
	VMASKMOVPD Y0, Y6, (DI)(R9*1)

s64_next:
	ADDQ R14, SI
	ADDQ R14, DI
	INCQ R13
	JNZ  s64_row

s64_done:
	VZEROUPPER
	RET
