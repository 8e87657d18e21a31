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
