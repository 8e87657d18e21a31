//go:build !purego

#include "textflag.h"

// float32 row kernels. Each matches its pure-Go twin in kernel.go bit for bit:
// the exponential runs the operations of exp32 (exp.go) in the same order
// with the same roundings, and element j of a row is added to accumulator
// lane j % 64, as the pure-Go loop adds it to acc[j % 64]. AVX-512 keeps the
// 64 partial sums in Z0-Z3 (16 lanes each), AVX2 in Y8-Y15 (8 lanes each).
//
// Operand order follows the Go assembler: the destination is last and the
// first source (Intel's src1) is next to it. x86 max returns its second
// source when either source is NaN, so "VMAXPS x, lo, x" keeps a NaN x and
// "VMAXPS acc, x, acc" skips a NaN x.

// Byte offsets of the rows of exp32Consts (kernel_amd64.go).
#define C32_LO 0
#define C32_LOG2E 32
#define C32_MAGIC 64
#define C32_NLN2HI 96
#define C32_NLN2LO 128
#define C32_C6 160
#define C32_C5 192
#define C32_C4 224
#define C32_C3 256
#define C32_C2 288
#define C32_ONE 320
#define C32_MIN 352

// Predicate "not less than, unordered is true" of VCMPPS: selects results
// >= the smallest normal number, and NaN.
#define NLT_UQ $0x15

// EXP32Z_CONSTS broadcasts the constants of EXP32Z from exp32Consts at R8
// into Z17-Z28.
#define EXP32Z_CONSTS \
	VBROADCASTSS C32_LO(R8), Z17; \
	VBROADCASTSS C32_LOG2E(R8), Z18; \
	VBROADCASTSS C32_MAGIC(R8), Z19; \
	VBROADCASTSS C32_NLN2HI(R8), Z20; \
	VBROADCASTSS C32_NLN2LO(R8), Z21; \
	VBROADCASTSS C32_C6(R8), Z22; \
	VBROADCASTSS C32_C5(R8), Z23; \
	VBROADCASTSS C32_C4(R8), Z24; \
	VBROADCASTSS C32_C3(R8), Z25; \
	VBROADCASTSS C32_C2(R8), Z26; \
	VBROADCASTSS C32_ONE(R8), Z27; \
	VBROADCASTSS C32_MIN(R8), Z28

// EXP32Z sets n = exp32(x - m) for 16 lanes; x and t are clobbered, k is
// set. Needs Z16 = m and Z17-Z28 = C32_LO ... C32_MIN broadcast.
#define EXP32Z(x, t, n, k) \
	VSUBPS      Z16, x, x;     \
	VMAXPS      x, Z17, x;     \
	VMOVAPS     Z19, t;        \
	VFMADD231PS Z18, x, t;     \
	VSUBPS      Z19, t, n;     \
	VFMADD231PS Z20, n, x;     \
	VFMADD231PS Z21, n, x;     \
	VMOVAPS     Z22, n;        \
	VFMADD213PS Z23, x, n;     \
	VFMADD213PS Z24, x, n;     \
	VFMADD213PS Z25, x, n;     \
	VFMADD213PS Z26, x, n;     \
	VFMADD213PS Z27, x, n;     \
	VFMADD213PS Z27, x, n;     \
	VPSLLD      $23, t, t;     \
	VMULPS      t, n, n;       \
	VCMPPS      NLT_UQ, Z28, n, k; \
	VMOVAPS.Z   n, k, n

// EXP32Y is EXP32Z for 8 lanes, with constants in memory at R8 and in
// Y4 = m, Y5 = C32_LO, Y6 = C32_MAGIC, Y7 = C32_ONE; msk is clobbered.
#define EXP32Y(x, t, n, msk) \
	VSUBPS      Y4, x, x;                \
	VMAXPS      x, Y5, x;                \
	VMOVAPS     Y6, t;                   \
	VFMADD231PS C32_LOG2E(R8), x, t;     \
	VSUBPS      Y6, t, n;                \
	VFMADD231PS C32_NLN2HI(R8), n, x;    \
	VFMADD231PS C32_NLN2LO(R8), n, x;    \
	VMOVUPS     C32_C6(R8), n;           \
	VFMADD213PS C32_C5(R8), x, n;        \
	VFMADD213PS C32_C4(R8), x, n;        \
	VFMADD213PS C32_C3(R8), x, n;        \
	VFMADD213PS C32_C2(R8), x, n;        \
	VFMADD213PS Y7, x, n;                \
	VFMADD213PS Y7, x, n;                \
	VPSLLD      $23, t, t;               \
	VMULPS      t, n, n;                 \
	VCMPPS      NLT_UQ, C32_MIN(R8), n, msk; \
	VANDPS      msk, n, n

// func expSumAVX512F32(dst, x []float32, m float32, acc *[64]float32, pf uintptr, fresh bool)
TEXT ·expSumAVX512F32(SB), NOSPLIT, $0-73
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ acc+56(FP), AX
	LEAQ ·exp32Consts(SB), R8

	VBROADCASTSS m+48(FP), Z16
	EXP32Z_CONSTS

	MOVQ    pf+64(FP), R12
	VPXORD  Z0, Z0, Z0
	VPXORD  Z1, Z1, Z1
	VPXORD  Z2, Z2, Z2
	VPXORD  Z3, Z3, Z3
	CMPB    fresh+72(FP), $0
	JNE     avx512_loop
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VMOVUPS 128(AX), Z2
	VMOVUPS 192(AX), Z3

avx512_loop:
	CMPQ CX, $64
	JB   avx512_tail
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ $128, R12
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z7
	VMOVUPS 128(SI), Z10
	VMOVUPS 192(SI), Z13
	EXP32Z(Z4, Z5, Z6, K1)
	EXP32Z(Z7, Z8, Z9, K2)
	EXP32Z(Z10, Z11, Z12, K3)
	EXP32Z(Z13, Z14, Z15, K4)
	VADDPS Z6, Z0, Z0
	VADDPS Z9, Z1, Z1
	VADDPS Z12, Z2, Z2
	VADDPS Z15, Z3, Z3
	TESTQ DX, DX
	JZ    avx512_next
	VMOVUPS Z6, (DI)
	VMOVUPS Z9, 64(DI)
	VMOVUPS Z12, 128(DI)
	VMOVUPS Z15, 192(DI)

avx512_next:
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  avx512_loop

	// Fewer than 64 elements left: one vector of up to 16 lanes at a time,
	// added to the partial sums in memory in lane order.
avx512_tail:
	VMOVUPS Z0, (AX)
	VMOVUPS Z1, 64(AX)
	VMOVUPS Z2, 128(AX)
	VMOVUPS Z3, 192(AX)
	LEAQ    ·tailMask16(SB), R9

avx512_tail_loop:
	TESTQ   CX, CX
	JZ      avx512_done
	MOVQ    $16, R11
	CMPQ    CX, R11
	CMOVQLT CX, R11
	KMOVW   (R9)(R11*2), K5
	VMOVUPS.Z (SI), K5, Z4
	EXP32Z(Z4, Z5, Z6, K1)
	VMOVAPS.Z Z6, K5, Z6
	VMOVUPS (AX), Z7
	VADDPS  Z6, Z7, Z7
	VMOVUPS Z7, (AX)
	TESTQ   DX, DX
	JZ      2(PC)
	VMOVUPS Z6, K5, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, AX
	SUBQ    R11, CX
	JMP     avx512_tail_loop

avx512_done:
	VZEROUPPER
	RET

// func expSumStreamAVX512F32(dst, x []float32, m float32, acc *[64]float32, pf uintptr, fresh bool, sdst, ssrc []float32, a float32)
//
// expSumStreamAVX512F32 is expSumAVX512F32 that also stores sdst[j] = ssrc[j]*a,
// for j < len(sdst), with non-temporal stores, a vector of them in each
// iteration of the exponential loop; sdst must be aligned to its element
// size. BX walks sdst, R13 holds ssrc - sdst and R10 the stores left.
TEXT ·expSumStreamAVX512F32(SB), NOSPLIT, $0-132
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ acc+56(FP), AX
	LEAQ ·exp32Consts(SB), R8

	VBROADCASTSS m+48(FP), Z16
	EXP32Z_CONSTS

	// Streamed stores: one element at a time up to the first 64-byte
	// boundary of sdst.
	MOVQ    sdst_base+80(FP), BX
	MOVQ    sdst_len+88(FP), R10
	MOVQ    ssrc_base+104(FP), R13
	SUBQ    BX, R13
	VBROADCASTSS a+128(FP), Z29
	LEAQ    ·tailMask16(SB), R9
	MOVQ    BX, R11
	NEGQ    R11
	ANDQ    $63, R11
	SHRQ    $2, R11
	CMPQ    R11, R10
	CMOVQGT R10, R11
	SUBQ    R11, R10

es512_head:
	TESTQ   R11, R11
	JZ      es512_head_done
	VMOVSS  (BX)(R13*1), X30
	VMULSS  X29, X30, X30
	VMOVD   X30, R12
	MOVNTIL R12, (BX)
	ADDQ    $4, BX
	DECQ    R11
	JMP     es512_head

es512_head_done:

	MOVQ    pf+64(FP), R12
	VPXORD  Z0, Z0, Z0
	VPXORD  Z1, Z1, Z1
	VPXORD  Z2, Z2, Z2
	VPXORD  Z3, Z3, Z3
	CMPB    fresh+72(FP), $0
	JNE     es512_loop
	VMOVUPS (AX), Z0
	VMOVUPS 64(AX), Z1
	VMOVUPS 128(AX), Z2
	VMOVUPS 192(AX), Z3

es512_loop:
	CMPQ CX, $64
	JB   es512_tail
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	PREFETCHT1 128(R12)
	PREFETCHT1 192(R12)
	ADDQ $256, R12
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z7
	VMOVUPS 128(SI), Z10
	VMOVUPS 192(SI), Z13
	EXP32Z(Z4, Z5, Z6, K1)
	EXP32Z(Z7, Z8, Z9, K2)
	EXP32Z(Z10, Z11, Z12, K3)
	EXP32Z(Z13, Z14, Z15, K4)
	VADDPS Z6, Z0, Z0
	VADDPS Z9, Z1, Z1
	VADDPS Z12, Z2, Z2
	VADDPS Z15, Z3, Z3
	CMPQ R10, $64
	JB   es512_stored
	VMULPS   (BX)(R13*1), Z29, Z30
	VMULPS   64(BX)(R13*1), Z29, Z31
	VMOVNTPS Z30, (BX)
	VMOVNTPS Z31, 64(BX)
	VMULPS   128(BX)(R13*1), Z29, Z30
	VMULPS   192(BX)(R13*1), Z29, Z31
	VMOVNTPS Z30, 128(BX)
	VMOVNTPS Z31, 192(BX)
	ADDQ $256, BX
	SUBQ $64, R10

es512_stored:
	TESTQ DX, DX
	JZ    es512_next
	VMOVUPS Z6, (DI)
	VMOVUPS Z9, 64(DI)
	VMOVUPS Z12, 128(DI)
	VMOVUPS Z15, 192(DI)

es512_next:
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  es512_loop

	// Fewer than 64 elements left: one vector of up to 16 lanes at a time,
	// added to the partial sums in memory in lane order.
es512_tail:
	VMOVUPS Z0, (AX)
	VMOVUPS Z1, 64(AX)
	VMOVUPS Z2, 128(AX)
	VMOVUPS Z3, 192(AX)
	LEAQ    ·tailMask16(SB), R9

es512_tail_loop:
	TESTQ   CX, CX
	JZ      es512_done
	MOVQ    $16, R11
	CMPQ    CX, R11
	CMOVQLT CX, R11
	KMOVW   (R9)(R11*2), K5
	VMOVUPS.Z (SI), K5, Z4
	EXP32Z(Z4, Z5, Z6, K1)
	VMOVAPS.Z Z6, K5, Z6
	VMOVUPS (AX), Z7
	VADDPS  Z6, Z7, Z7
	VMOVUPS Z7, (AX)
	TESTQ   DX, DX
	JZ      2(PC)
	VMOVUPS Z6, K5, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, AX
	SUBQ    R11, CX
	JMP     es512_tail_loop

es512_done:
	// The streamed stores left: whole vectors, then one element at a time.
	CMPQ R10, $16
	JB   es512_last
	VMULPS   (BX)(R13*1), Z29, Z30
	VMOVNTPS Z30, (BX)
	ADDQ $64, BX
	SUBQ $16, R10
	JMP  es512_done

es512_last:
	TESTQ   R10, R10
	JZ      es512_return
	VMOVSS  (BX)(R13*1), X30
	VMULSS  X29, X30, X30
	VMOVD   X30, R11
	MOVNTIL R11, (BX)
	ADDQ    $4, BX
	DECQ    R10
	JMP     es512_last

es512_return:
	VZEROUPPER
	RET

// STEP32Y processes the 8 elements at off(SI) into accumulator acc and, when
// DX != 0, stores them at off(DI).
#define STEP32Y(off, acc) \
	VMOVUPS off(SI), Y0;         \
	EXP32Y(Y0, Y1, Y2, Y3);      \
	VADDPS  Y2, acc, acc;        \
	TESTQ   DX, DX;              \
	JZ      2(PC);               \
	VMOVUPS Y2, off(DI)

// func expSumAVX2F32(dst, x []float32, m float32, acc *[64]float32, pf uintptr, fresh bool)
TEXT ·expSumAVX2F32(SB), NOSPLIT, $0-73
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ acc+56(FP), AX
	LEAQ ·exp32Consts(SB), R8

	VBROADCASTSS m+48(FP), Y4
	VMOVUPS      C32_LO(R8), Y5
	VMOVUPS      C32_MAGIC(R8), Y6
	VMOVUPS      C32_ONE(R8), Y7

	MOVQ    pf+64(FP), R12
	VXORPS  Y8, Y8, Y8
	VXORPS  Y9, Y9, Y9
	VXORPS  Y10, Y10, Y10
	VXORPS  Y11, Y11, Y11
	VXORPS  Y12, Y12, Y12
	VXORPS  Y13, Y13, Y13
	VXORPS  Y14, Y14, Y14
	VXORPS  Y15, Y15, Y15
	CMPB    fresh+72(FP), $0
	JNE     avx2_loop
	VMOVUPS (AX), Y8
	VMOVUPS 32(AX), Y9
	VMOVUPS 64(AX), Y10
	VMOVUPS 96(AX), Y11
	VMOVUPS 128(AX), Y12
	VMOVUPS 160(AX), Y13
	VMOVUPS 192(AX), Y14
	VMOVUPS 224(AX), Y15

avx2_loop:
	CMPQ CX, $64
	JB   avx2_tail
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ $128, R12
	STEP32Y(0, Y8)
	STEP32Y(32, Y9)
	STEP32Y(64, Y10)
	STEP32Y(96, Y11)
	STEP32Y(128, Y12)
	STEP32Y(160, Y13)
	STEP32Y(192, Y14)
	STEP32Y(224, Y15)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  avx2_loop

	// Fewer than 64 elements left: one vector of up to 8 lanes at a time.
avx2_tail:
	VMOVUPS Y8, (AX)
	VMOVUPS Y9, 32(AX)
	VMOVUPS Y10, 64(AX)
	VMOVUPS Y11, 96(AX)
	VMOVUPS Y12, 128(AX)
	VMOVUPS Y13, 160(AX)
	VMOVUPS Y14, 192(AX)
	VMOVUPS Y15, 224(AX)
	LEAQ    ·tailMaskAVX2F32(SB), R9

avx2_tail_loop:
	TESTQ      CX, CX
	JZ         avx2_done
	MOVQ       $8, R11
	CMPQ       CX, R11
	CMOVQLT    CX, R11
	MOVQ       $8, R10
	SUBQ       R11, R10
	VMOVUPS    (R9)(R10*4), Y8
	VMASKMOVPS (SI), Y8, Y0
	EXP32Y(Y0, Y1, Y2, Y3)
	VANDPS     Y8, Y2, Y2
	VMOVUPS    (AX), Y9
	VADDPS     Y2, Y9, Y9
	VMOVUPS    Y9, (AX)
	TESTQ      DX, DX
	JZ         2(PC)
	VMASKMOVPS Y2, Y8, (DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	ADDQ       $32, AX
	SUBQ       R11, CX
	JMP        avx2_tail_loop

avx2_done:
	VZEROUPPER
	RET

// func expSumStreamAVX2F32(dst, x []float32, m float32, acc *[64]float32, pf uintptr, fresh bool, sdst, ssrc []float32, a float32)
//
// expSumStreamAVX2F32 is expSumStreamAVX512F32 for AVX2: every Y register
// is taken, so the stores use Y0-Y2 between the exponentials, with a
// broadcast of a from memory. The stores left after the main loop are done
// before the tail of the exponentials, which needs R10.
TEXT ·expSumStreamAVX2F32(SB), NOSPLIT, $0-132
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ acc+56(FP), AX
	LEAQ ·exp32Consts(SB), R8

	VBROADCASTSS m+48(FP), Y4
	VMOVUPS      C32_LO(R8), Y5
	VMOVUPS      C32_MAGIC(R8), Y6
	VMOVUPS      C32_ONE(R8), Y7

	// Streamed stores: one element at a time up to the first 32-byte
	// boundary of sdst.
	MOVQ       sdst_base+80(FP), BX
	MOVQ       sdst_len+88(FP), R10
	MOVQ       ssrc_base+104(FP), R13
	SUBQ       BX, R13
	LEAQ       ·tailMaskAVX2F32(SB), R9
	MOVQ       BX, R11
	NEGQ       R11
	ANDQ       $31, R11
	SHRQ       $2, R11
	CMPQ       R11, R10
	CMOVQGT    R10, R11
	SUBQ       R11, R10

es2_head:
	TESTQ   R11, R11
	JZ      es2_head_done
	VMOVSS  (BX)(R13*1), X0
	VMULSS  a+128(FP), X0, X0
	VMOVD   X0, R12
	MOVNTIL R12, (BX)
	ADDQ    $4, BX
	DECQ    R11
	JMP     es2_head

es2_head_done:

	MOVQ    pf+64(FP), R12
	VXORPS  Y8, Y8, Y8
	VXORPS  Y9, Y9, Y9
	VXORPS  Y10, Y10, Y10
	VXORPS  Y11, Y11, Y11
	VXORPS  Y12, Y12, Y12
	VXORPS  Y13, Y13, Y13
	VXORPS  Y14, Y14, Y14
	VXORPS  Y15, Y15, Y15
	CMPB    fresh+72(FP), $0
	JNE     es2_loop
	VMOVUPS (AX), Y8
	VMOVUPS 32(AX), Y9
	VMOVUPS 64(AX), Y10
	VMOVUPS 96(AX), Y11
	VMOVUPS 128(AX), Y12
	VMOVUPS 160(AX), Y13
	VMOVUPS 192(AX), Y14
	VMOVUPS 224(AX), Y15

es2_loop:
	CMPQ CX, $64
	JB   es2_tail
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	PREFETCHT1 128(R12)
	PREFETCHT1 192(R12)
	ADDQ $256, R12
	STEP32Y(0, Y8)
	STEP32Y(32, Y9)
	STEP32Y(64, Y10)
	STEP32Y(96, Y11)
	STEP32Y(128, Y12)
	STEP32Y(160, Y13)
	STEP32Y(192, Y14)
	STEP32Y(224, Y15)
	CMPQ R10, $64
	JB   es2_stored
	VBROADCASTSS a+128(FP), Y1
	VMULPS   (BX)(R13*1), Y1, Y0
	VMOVNTPS Y0, (BX)
	VMULPS   32(BX)(R13*1), Y1, Y0
	VMOVNTPS Y0, 32(BX)
	VMULPS   64(BX)(R13*1), Y1, Y0
	VMOVNTPS Y0, 64(BX)
	VMULPS   96(BX)(R13*1), Y1, Y0
	VMOVNTPS Y0, 96(BX)
	VMULPS   128(BX)(R13*1), Y1, Y0
	VMOVNTPS Y0, 128(BX)
	VMULPS   160(BX)(R13*1), Y1, Y0
	VMOVNTPS Y0, 160(BX)
	VMULPS   192(BX)(R13*1), Y1, Y0
	VMOVNTPS Y0, 192(BX)
	VMULPS   224(BX)(R13*1), Y1, Y0
	VMOVNTPS Y0, 224(BX)
	ADDQ $256, BX
	SUBQ $64, R10

es2_stored:
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  es2_loop

	// Fewer than 64 elements left: one vector of up to 8 lanes at a time.
es2_tail:
	VMOVUPS Y8, (AX)
	VMOVUPS Y9, 32(AX)
	VMOVUPS Y10, 64(AX)
	VMOVUPS Y11, 96(AX)
	VMOVUPS Y12, 128(AX)
	VMOVUPS Y13, 160(AX)
	VMOVUPS Y14, 192(AX)
	VMOVUPS Y15, 224(AX)
	LEAQ    ·tailMaskAVX2F32(SB), R9

	// The streamed stores left: whole vectors, then one element at a time.
es2_stream_rest:
	CMPQ R10, $8
	JB   es2_stream_last
	VBROADCASTSS a+128(FP), Y1
	VMULPS   (BX)(R13*1), Y1, Y0
	VMOVNTPS Y0, (BX)
	ADDQ $32, BX
	SUBQ $8, R10
	JMP  es2_stream_rest

es2_stream_last:
	TESTQ   R10, R10
	JZ      es2_tail_loop
	VMOVSS  (BX)(R13*1), X0
	VMULSS  a+128(FP), X0, X0
	VMOVD   X0, R11
	MOVNTIL R11, (BX)
	ADDQ    $4, BX
	DECQ    R10
	JMP     es2_stream_last

es2_tail_loop:
	TESTQ      CX, CX
	JZ         es2_done
	MOVQ       $8, R11
	CMPQ       CX, R11
	CMOVQLT    CX, R11
	MOVQ       $8, R10
	SUBQ       R11, R10
	VMOVUPS    (R9)(R10*4), Y8
	VMASKMOVPS (SI), Y8, Y0
	EXP32Y(Y0, Y1, Y2, Y3)
	VANDPS     Y8, Y2, Y2
	VMOVUPS    (AX), Y9
	VADDPS     Y2, Y9, Y9
	VMOVUPS    Y9, (AX)
	TESTQ      DX, DX
	JZ         2(PC)
	VMASKMOVPS Y2, Y8, (DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	ADDQ       $32, AX
	SUBQ       R11, CX
	JMP        es2_tail_loop

es2_done:
	VZEROUPPER
	RET

// func maxAVX512F32(x []float32) float32
TEXT ·maxAVX512F32(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVL $0xff800000, R8 // -Inf
	VPBROADCASTD R8, Z0
	VMOVAPS Z0, Z1
	VMOVAPS Z0, Z2
	VMOVAPS Z0, Z3

max512_loop:
	CMPQ CX, $64
	JB   max512_tail
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VMAXPS  Z0, Z4, Z0
	VMAXPS  Z1, Z5, Z1
	VMAXPS  Z2, Z6, Z2
	VMAXPS  Z3, Z7, Z3
	ADDQ    $256, SI
	SUBQ    $64, CX
	JMP     max512_loop

max512_tail:
	LEAQ ·tailMask16(SB), R9

max512_tail_loop:
	TESTQ   CX, CX
	JZ      max512_reduce
	MOVQ    $16, R11
	CMPQ    CX, R11
	CMOVQLT CX, R11
	KMOVW   (R9)(R11*2), K1
	VMOVUPS.Z (SI), K1, Z4
	VMAXPS  Z0, Z4, K1, Z0
	ADDQ    $64, SI
	SUBQ    R11, CX
	JMP     max512_tail_loop

	// The accumulators hold no NaN, so the reduction order does not matter.
max512_reduce:
	VMAXPS        Z1, Z0, Z0
	VMAXPS        Z3, Z2, Z2
	VMAXPS        Z2, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VMAXPS        X1, X0, X0
	VMOVSHDUP     X0, X1
	VMAXPS        X1, X0, X0
	VMOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET

// func maxAVX2F32(x []float32) float32
TEXT ·maxAVX2F32(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVL $0xff800000, R8
	MOVL R8, X0
	VBROADCASTSS X0, Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3

max2_loop:
	CMPQ CX, $32
	JB   max2_tail
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VMAXPS  Y0, Y4, Y0
	VMAXPS  Y1, Y5, Y1
	VMAXPS  Y2, Y6, Y2
	VMAXPS  Y3, Y7, Y3
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     max2_loop

max2_tail:
	TESTQ   CX, CX
	JZ      max2_reduce
	VMOVUPS (SI), Y4
	VMAXPS  Y0, Y4, Y0
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     max2_tail

max2_reduce:
	VMAXPS       Y1, Y0, Y0
	VMAXPS       Y3, Y2, Y2
	VMAXPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VMAXPS       X1, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET

// func scaleAVX512F32(dst, src []float32, a float32, pf uintptr, stream bool)
TEXT ·scaleAVX512F32(SB), NOSPLIT, $0-65
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	VBROADCASTSS a+48(FP), Z16
	MOVQ pf+56(FP), R12
	LEAQ ·tailMask16(SB), R9
	CMPB stream+64(FP), $0
	JEQ  scale512_loop

	// Streaming: one element at a time up to the first 64-byte boundary
	// of dst, then non-temporal stores of whole vectors. Only streamed stores
	// reach dst, because a plain store to a line being streamed out would
	// read the line back from memory first.
	MOVQ    DI, R10
	NEGQ    R10
	ANDQ    $63, R10
	SHRQ    $2, R10
	CMPQ    R10, CX
	CMOVQGT CX, R10
	SUBQ    R10, CX

scale512_stream_head:
	TESTQ   R10, R10
	JZ      scale512_stream_loop
	VMOVSS  (SI), X0
	VMULSS  X16, X0, X0
	VMOVD   X0, R11
	MOVNTIL R11, (DI)
	ADDQ    $4, SI
	ADDQ    $4, DI
	DECQ    R10
	JMP     scale512_stream_head

scale512_stream_loop:
	CMPQ CX, $64
	JB   scale512_stream_done
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ $128, R12
	VMULPS  (SI), Z16, Z0
	VMULPS  64(SI), Z16, Z1
	VMULPS  128(SI), Z16, Z2
	VMULPS  192(SI), Z16, Z3
	VMOVNTPS Z0, (DI)
	VMOVNTPS Z1, 64(DI)
	VMOVNTPS Z2, 128(DI)
	VMOVNTPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  scale512_stream_loop

scale512_stream_done:
	CMPQ CX, $16
	JB   scale512_stream_last
	VMULPS  (SI), Z16, Z0
	VMOVNTPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  scale512_stream_done

scale512_stream_last:
	TESTQ   CX, CX
	JZ      scale512_done
	VMOVSS  (SI), X0
	VMULSS  X16, X0, X0
	VMOVD   X0, R11
	MOVNTIL R11, (DI)
	ADDQ    $4, SI
	ADDQ    $4, DI
	DECQ    CX
	JMP     scale512_stream_last

scale512_loop:
	CMPQ CX, $64
	JB   scale512_tail
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ $128, R12
	VMULPS  (SI), Z16, Z0
	VMULPS  64(SI), Z16, Z1
	VMULPS  128(SI), Z16, Z2
	VMULPS  192(SI), Z16, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  scale512_loop

scale512_tail:
	TESTQ   CX, CX
	JZ      scale512_done
	MOVQ    $16, R11
	CMPQ    CX, R11
	CMOVQLT CX, R11
	KMOVW   (R9)(R11*2), K1
	VMOVUPS.Z (SI), K1, Z0
	VMULPS  Z16, Z0, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    R11, CX
	JMP     scale512_tail

scale512_done:
	VZEROUPPER
	RET

// func scaleAVX2F32(dst, src []float32, a float32, pf uintptr, stream bool)
TEXT ·scaleAVX2F32(SB), NOSPLIT, $0-65
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	VBROADCASTSS a+48(FP), Y7
	MOVQ pf+56(FP), R12
	LEAQ ·tailMaskAVX2F32(SB), R9
	CMPB stream+64(FP), $0
	JEQ  scale2_loop

	// Streaming: one element at a time up to the first 32-byte boundary
	// of dst, then non-temporal stores of whole vectors. Only streamed stores
	// reach dst, because a plain store to a line being streamed out would
	// read the line back from memory first.
	MOVQ    DI, R10
	NEGQ    R10
	ANDQ    $31, R10
	SHRQ    $2, R10
	CMPQ    R10, CX
	CMOVQGT CX, R10
	SUBQ    R10, CX

scale2_stream_head:
	TESTQ   R10, R10
	JZ      scale2_stream_loop
	VMOVSS  (SI), X0
	VMULSS  X7, X0, X0
	VMOVD   X0, R11
	MOVNTIL R11, (DI)
	ADDQ    $4, SI
	ADDQ    $4, DI
	DECQ    R10
	JMP     scale2_stream_head

scale2_stream_loop:
	CMPQ CX, $32
	JB   scale2_stream_done
	PREFETCHT1 (R12)
	ADDQ $64, R12
	VMULPS  (SI), Y7, Y0
	VMULPS  32(SI), Y7, Y1
	VMULPS  64(SI), Y7, Y2
	VMULPS  96(SI), Y7, Y3
	VMOVNTPS Y0, (DI)
	VMOVNTPS Y1, 32(DI)
	VMOVNTPS Y2, 64(DI)
	VMOVNTPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  scale2_stream_loop

scale2_stream_done:
	CMPQ CX, $8
	JB   scale2_stream_last
	VMULPS  (SI), Y7, Y0
	VMOVNTPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  scale2_stream_done

scale2_stream_last:
	TESTQ   CX, CX
	JZ      scale2_done
	VMOVSS  (SI), X0
	VMULSS  X7, X0, X0
	VMOVD   X0, R11
	MOVNTIL R11, (DI)
	ADDQ    $4, SI
	ADDQ    $4, DI
	DECQ    CX
	JMP     scale2_stream_last

scale2_loop:
	CMPQ CX, $32
	JB   scale2_tail
	PREFETCHT1 (R12)
	ADDQ $64, R12
	VMULPS  (SI), Y7, Y0
	VMULPS  32(SI), Y7, Y1
	VMULPS  64(SI), Y7, Y2
	VMULPS  96(SI), Y7, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  scale2_loop

scale2_tail:
	TESTQ      CX, CX
	JZ         scale2_done
	MOVQ       $8, R11
	CMPQ       CX, R11
	CMOVQLT    CX, R11
	MOVQ       $8, R10
	SUBQ       R11, R10
	VMOVUPS    (R9)(R10*4), Y6
	VMASKMOVPS (SI), Y6, Y0
	VMULPS     Y7, Y0, Y0
	VMASKMOVPS Y0, Y6, (DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	SUBQ       R11, CX
	JMP        scale2_tail

scale2_done:
	VZEROUPPER
	RET

// The combine kernels add the 64 partial sums in the tree of combineGo32:
// partial k plus partial k + n/2 for k < n/2, for n = 64, 32, ..., 2. The
// partial with the lower index is always the first operand.

// func combineAVX512F32(acc *[64]float32) float32
TEXT ·combineAVX512F32(SB), NOSPLIT, $0-12
	MOVQ          acc+0(FP), AX
	VMOVUPS       (AX), Z0
	VMOVUPS       64(AX), Z1
	VMOVUPS       128(AX), Z2
	VMOVUPS       192(AX), Z3
	VADDPS        Z2, Z0, Z0 // n = 64
	VADDPS        Z3, Z1, Z1
	VADDPS        Z1, Z0, Z0 // n = 32
	VEXTRACTF32X8 $1, Z0, Y1 // n = 16
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1 // n = 8
	VADDPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1 // n = 4
	VADDPS        X1, X0, X0
	VMOVSHDUP     X0, X1 // n = 2
	VADDSS        X1, X0, X0
	VMOVSS        X0, ret+8(FP)
	VZEROUPPER
	RET

// func combineAVX2F32(acc *[64]float32) float32
TEXT ·combineAVX2F32(SB), NOSPLIT, $0-12
	MOVQ         acc+0(FP), AX
	VMOVUPS      (AX), Y0
	VMOVUPS      32(AX), Y1
	VMOVUPS      64(AX), Y2
	VMOVUPS      96(AX), Y3
	VADDPS       128(AX), Y0, Y0 // n = 64
	VADDPS       160(AX), Y1, Y1
	VADDPS       192(AX), Y2, Y2
	VADDPS       224(AX), Y3, Y3
	VADDPS       Y2, Y0, Y0 // n = 32
	VADDPS       Y3, Y1, Y1
	VADDPS       Y1, Y0, Y0 // n = 16
	VEXTRACTF128 $1, Y0, X1 // n = 8
	VADDPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1 // n = 4
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1 // n = 2
	VADDSS       X1, X0, X0
	VMOVSS       X0, ret+8(FP)
	VZEROUPPER
	RET

// func storeNTF32(p *float32, v float32)
//
// storeNTF32 stores v at p with a non-temporal store.
TEXT ·storeNTF32(SB), NOSPLIT, $0-12
	MOVQ    p+0(FP), AX
	MOVL    v+8(FP), BX
	MOVNTIL BX, (AX)
	RET

// func storeFence()
//
// storeFence makes the non-temporal stores of this thread visible to the
// others before any later store.
TEXT ·storeFence(SB), NOSPLIT, $0-0
	SFENCE
	RET
