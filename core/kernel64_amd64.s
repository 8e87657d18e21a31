//go:build !purego

#include "textflag.h"

// float64 row kernels: kernel32_amd64.s for float64. The exponential runs
// the operations of exp64 (exp.go), and element j of a row is added to
// accumulator lane j % 32: AVX-512 keeps the 32 partial sums in Z0-Z3 (8
// lanes each), AVX2 in Y8-Y15 (4 lanes each).

// Byte offsets of the rows of exp64Consts (kernel_amd64.go).
#define C64_LO 0
#define C64_LOG2E 32
#define C64_MAGIC 64
#define C64_NLN2HI 96
#define C64_NLN2LO 128
#define C64_C11 160
#define C64_C10 192
#define C64_C9 224
#define C64_C8 256
#define C64_C7 288
#define C64_C6 320
#define C64_C5 352
#define C64_C4 384
#define C64_C3 416
#define C64_C2 448
#define C64_ONE 480
#define C64_MIN 512

#define NLT_UQ $0x15

// EXP64Z_CONSTS broadcasts the constants of EXP64Z from exp64Consts at R8
// into Z17-Z31.
#define EXP64Z_CONSTS \
	VBROADCASTSD C64_LO(R8), Z17; \
	VBROADCASTSD C64_LOG2E(R8), Z18; \
	VBROADCASTSD C64_MAGIC(R8), Z19; \
	VBROADCASTSD C64_NLN2HI(R8), Z20; \
	VBROADCASTSD C64_NLN2LO(R8), Z21; \
	VBROADCASTSD C64_C11(R8), Z22; \
	VBROADCASTSD C64_C10(R8), Z23; \
	VBROADCASTSD C64_C9(R8), Z24; \
	VBROADCASTSD C64_C8(R8), Z25; \
	VBROADCASTSD C64_C7(R8), Z26; \
	VBROADCASTSD C64_C6(R8), Z27; \
	VBROADCASTSD C64_C5(R8), Z28; \
	VBROADCASTSD C64_C4(R8), Z29; \
	VBROADCASTSD C64_C3(R8), Z30; \
	VBROADCASTSD C64_C2(R8), Z31

// EXP64Z sets n = exp64(x - m) for 8 lanes; x and t are clobbered, k is
// set. Needs Z16 = m, Z17-Z31 = C64_LO ... C64_C2 broadcast, and R8 =
// exp64Consts for the two constants that do not fit in registers.
#define EXP64Z(x, t, n, k) \
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
	VFMADD213PD.BCST C64_ONE(R8), x, n;       \
	VFMADD213PD.BCST C64_ONE(R8), x, n;       \
	VPSLLQ      $52, t, t;                    \
	VMULPD      t, n, n;                      \
	VCMPPD.BCST NLT_UQ, C64_MIN(R8), n, k;    \
	VMOVAPD.Z   n, k, n

// EXP64Y is EXP64Z for 4 lanes, with constants in memory at R8 and in
// Y4 = m, Y5 = C64_LO, Y6 = C64_MAGIC, Y7 = C64_ONE; msk is clobbered.
#define EXP64Y(x, t, n, msk) \
	VSUBPD      Y4, x, x;                 \
	VMAXPD      x, Y5, x;                 \
	VMOVAPD     Y6, t;                    \
	VFMADD231PD C64_LOG2E(R8), x, t;      \
	VSUBPD      Y6, t, n;                 \
	VFMADD231PD C64_NLN2HI(R8), n, x;     \
	VFMADD231PD C64_NLN2LO(R8), n, x;     \
	VMOVUPD     C64_C11(R8), n;           \
	VFMADD213PD C64_C10(R8), x, n;        \
	VFMADD213PD C64_C9(R8), x, n;         \
	VFMADD213PD C64_C8(R8), x, n;         \
	VFMADD213PD C64_C7(R8), x, n;         \
	VFMADD213PD C64_C6(R8), x, n;         \
	VFMADD213PD C64_C5(R8), x, n;         \
	VFMADD213PD C64_C4(R8), x, n;         \
	VFMADD213PD C64_C3(R8), x, n;         \
	VFMADD213PD C64_C2(R8), x, n;         \
	VFMADD213PD Y7, x, n;                 \
	VFMADD213PD Y7, x, n;                 \
	VPSLLQ      $52, t, t;                \
	VMULPD      t, n, n;                  \
	VCMPPD      NLT_UQ, C64_MIN(R8), n, msk; \
	VANDPD      msk, n, n

// func expSumAVX512F64(dst, x []float64, m float64, acc *[32]float64, pf uintptr, fresh bool)
TEXT ·expSumAVX512F64(SB), NOSPLIT, $0-73
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ acc+56(FP), AX
	LEAQ ·exp64Consts(SB), R8

	VBROADCASTSD m+48(FP), Z16
	EXP64Z_CONSTS

	MOVQ    pf+64(FP), R12
	VPXORD  Z0, Z0, Z0
	VPXORD  Z1, Z1, Z1
	VPXORD  Z2, Z2, Z2
	VPXORD  Z3, Z3, Z3
	CMPB    fresh+72(FP), $0
	JNE     avx512_loop
	VMOVUPD (AX), Z0
	VMOVUPD 64(AX), Z1
	VMOVUPD 128(AX), Z2
	VMOVUPD 192(AX), Z3

avx512_loop:
	CMPQ CX, $32
	JB   avx512_tail
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ $128, R12
	VMOVUPD (SI), Z4
	VMOVUPD 64(SI), Z7
	VMOVUPD 128(SI), Z10
	VMOVUPD 192(SI), Z13
	EXP64Z(Z4, Z5, Z6, K1)
	EXP64Z(Z7, Z8, Z9, K2)
	EXP64Z(Z10, Z11, Z12, K3)
	EXP64Z(Z13, Z14, Z15, K4)
	VADDPD Z6, Z0, Z0
	VADDPD Z9, Z1, Z1
	VADDPD Z12, Z2, Z2
	VADDPD Z15, Z3, Z3
	TESTQ  DX, DX
	JZ     avx512_next
	VMOVUPD Z6, (DI)
	VMOVUPD Z9, 64(DI)
	VMOVUPD Z12, 128(DI)
	VMOVUPD Z15, 192(DI)

avx512_next:
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $32, CX
	JMP  avx512_loop

	// Fewer than 32 elements left: one vector of up to 8 lanes at a time,
	// added to the partial sums in memory in lane order.
avx512_tail:
	VMOVUPD Z0, (AX)
	VMOVUPD Z1, 64(AX)
	VMOVUPD Z2, 128(AX)
	VMOVUPD Z3, 192(AX)
	LEAQ    ·tailMask16(SB), R9

avx512_tail_loop:
	TESTQ   CX, CX
	JZ      avx512_done
	MOVQ    $8, R11
	CMPQ    CX, R11
	CMOVQLT CX, R11
	KMOVW   (R9)(R11*2), K5
	VMOVUPD.Z (SI), K5, Z4
	EXP64Z(Z4, Z5, Z6, K1)
	VMOVAPD.Z Z6, K5, Z6
	VMOVUPD (AX), Z7
	VADDPD  Z6, Z7, Z7
	VMOVUPD Z7, (AX)
	TESTQ   DX, DX
	JZ      2(PC)
	VMOVUPD Z6, K5, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, AX
	SUBQ    R11, CX
	JMP     avx512_tail_loop

avx512_done:
	VZEROUPPER
	RET

// func expSumStreamAVX512F64(dst, x []float64, m float64, acc *[32]float64, pf uintptr, fresh bool, sdst, ssrc []float64, a float64)
//
// expSumStreamAVX512F64 is expSumStreamAVX512F32 for float64. Every Z
// register above Z15 holds a constant, so the stores use Z4 and Z5 once an
// iteration's exponentials are summed, with a broadcast from memory.
TEXT ·expSumStreamAVX512F64(SB), NOSPLIT, $0-136
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ acc+56(FP), AX
	LEAQ ·exp64Consts(SB), R8

	VBROADCASTSD m+48(FP), Z16
	EXP64Z_CONSTS

	// Streamed stores: one element at a time up to the first 64-byte
	// boundary of sdst.
	MOVQ    sdst_base+80(FP), BX
	MOVQ    sdst_len+88(FP), R10
	MOVQ    ssrc_base+104(FP), R13
	SUBQ    BX, R13
	LEAQ    ·tailMask16(SB), R9
	MOVQ    BX, R11
	NEGQ    R11
	ANDQ    $63, R11
	SHRQ    $3, R11
	CMPQ    R11, R10
	CMOVQGT R10, R11
	SUBQ    R11, R10

es512_head:
	TESTQ   R11, R11
	JZ      es512_head_done
	VMOVSD  (BX)(R13*1), X4
	VMULSD  a+128(FP), X4, X4
	VMOVQ   X4, R12
	MOVNTIQ R12, (BX)
	ADDQ    $8, BX
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
	VMOVUPD (AX), Z0
	VMOVUPD 64(AX), Z1
	VMOVUPD 128(AX), Z2
	VMOVUPD 192(AX), Z3

es512_loop:
	CMPQ CX, $32
	JB   es512_tail
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	PREFETCHT1 128(R12)
	PREFETCHT1 192(R12)
	ADDQ $256, R12
	VMOVUPD (SI), Z4
	VMOVUPD 64(SI), Z7
	VMOVUPD 128(SI), Z10
	VMOVUPD 192(SI), Z13
	EXP64Z(Z4, Z5, Z6, K1)
	EXP64Z(Z7, Z8, Z9, K2)
	EXP64Z(Z10, Z11, Z12, K3)
	EXP64Z(Z13, Z14, Z15, K4)
	VADDPD Z6, Z0, Z0
	VADDPD Z9, Z1, Z1
	VADDPD Z12, Z2, Z2
	VADDPD Z15, Z3, Z3
	CMPQ R10, $32
	JB   es512_stored
	VMOVUPD (BX)(R13*1), Z4
	VMOVUPD 64(BX)(R13*1), Z5
	VMULPD.BCST a+128(FP), Z4, Z4
	VMULPD.BCST a+128(FP), Z5, Z5
	VMOVNTPD Z4, (BX)
	VMOVNTPD Z5, 64(BX)
	VMOVUPD 128(BX)(R13*1), Z4
	VMOVUPD 192(BX)(R13*1), Z5
	VMULPD.BCST a+128(FP), Z4, Z4
	VMULPD.BCST a+128(FP), Z5, Z5
	VMOVNTPD Z4, 128(BX)
	VMOVNTPD Z5, 192(BX)
	ADDQ $256, BX
	SUBQ $32, R10

es512_stored:
	TESTQ  DX, DX
	JZ     es512_next
	VMOVUPD Z6, (DI)
	VMOVUPD Z9, 64(DI)
	VMOVUPD Z12, 128(DI)
	VMOVUPD Z15, 192(DI)

es512_next:
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $32, CX
	JMP  es512_loop

	// Fewer than 32 elements left: one vector of up to 8 lanes at a time,
	// added to the partial sums in memory in lane order.
es512_tail:
	VMOVUPD Z0, (AX)
	VMOVUPD Z1, 64(AX)
	VMOVUPD Z2, 128(AX)
	VMOVUPD Z3, 192(AX)
	LEAQ    ·tailMask16(SB), R9

es512_tail_loop:
	TESTQ   CX, CX
	JZ      es512_done
	MOVQ    $8, R11
	CMPQ    CX, R11
	CMOVQLT CX, R11
	KMOVW   (R9)(R11*2), K5
	VMOVUPD.Z (SI), K5, Z4
	EXP64Z(Z4, Z5, Z6, K1)
	VMOVAPD.Z Z6, K5, Z6
	VMOVUPD (AX), Z7
	VADDPD  Z6, Z7, Z7
	VMOVUPD Z7, (AX)
	TESTQ   DX, DX
	JZ      2(PC)
	VMOVUPD Z6, K5, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	ADDQ    $64, AX
	SUBQ    R11, CX
	JMP     es512_tail_loop

es512_done:
	// The streamed stores left: whole vectors, then one element at a time.
	CMPQ R10, $8
	JB   es512_last
	VMOVUPD (BX)(R13*1), Z4
	VMULPD.BCST a+128(FP), Z4, Z4
	VMOVNTPD Z4, (BX)
	ADDQ $64, BX
	SUBQ $8, R10
	JMP  es512_done

es512_last:
	TESTQ   R10, R10
	JZ      es512_return
	VMOVSD  (BX)(R13*1), X4
	VMULSD  a+128(FP), X4, X4
	VMOVQ   X4, R11
	MOVNTIQ R11, (BX)
	ADDQ    $8, BX
	DECQ    R10
	JMP     es512_last

es512_return:
	VZEROUPPER
	RET

// STEP64Y processes the 4 elements at off(SI) into accumulator acc and, when
// DX != 0, stores them at off(DI).
#define STEP64Y(off, acc) \
	VMOVUPD off(SI), Y0;         \
	EXP64Y(Y0, Y1, Y2, Y3);      \
	VADDPD  Y2, acc, acc;        \
	TESTQ   DX, DX;              \
	JZ      2(PC);               \
	VMOVUPD Y2, off(DI)

// func expSumAVX2F64(dst, x []float64, m float64, acc *[32]float64, pf uintptr, fresh bool)
TEXT ·expSumAVX2F64(SB), NOSPLIT, $0-73
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ acc+56(FP), AX
	LEAQ ·exp64Consts(SB), R8

	VBROADCASTSD m+48(FP), Y4
	VMOVUPD      C64_LO(R8), Y5
	VMOVUPD      C64_MAGIC(R8), Y6
	VMOVUPD      C64_ONE(R8), Y7

	MOVQ    pf+64(FP), R12
	VXORPD  Y8, Y8, Y8
	VXORPD  Y9, Y9, Y9
	VXORPD  Y10, Y10, Y10
	VXORPD  Y11, Y11, Y11
	VXORPD  Y12, Y12, Y12
	VXORPD  Y13, Y13, Y13
	VXORPD  Y14, Y14, Y14
	VXORPD  Y15, Y15, Y15
	CMPB    fresh+72(FP), $0
	JNE     avx2_loop
	VMOVUPD (AX), Y8
	VMOVUPD 32(AX), Y9
	VMOVUPD 64(AX), Y10
	VMOVUPD 96(AX), Y11
	VMOVUPD 128(AX), Y12
	VMOVUPD 160(AX), Y13
	VMOVUPD 192(AX), Y14
	VMOVUPD 224(AX), Y15

avx2_loop:
	CMPQ CX, $32
	JB   avx2_tail
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ $128, R12
	STEP64Y(0, Y8)
	STEP64Y(32, Y9)
	STEP64Y(64, Y10)
	STEP64Y(96, Y11)
	STEP64Y(128, Y12)
	STEP64Y(160, Y13)
	STEP64Y(192, Y14)
	STEP64Y(224, Y15)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $32, CX
	JMP  avx2_loop

	// Fewer than 32 elements left: one vector of up to 4 lanes at a time.
avx2_tail:
	VMOVUPD Y8, (AX)
	VMOVUPD Y9, 32(AX)
	VMOVUPD Y10, 64(AX)
	VMOVUPD Y11, 96(AX)
	VMOVUPD Y12, 128(AX)
	VMOVUPD Y13, 160(AX)
	VMOVUPD Y14, 192(AX)
	VMOVUPD Y15, 224(AX)
	LEAQ    ·tailMaskAVX2F64(SB), R9

avx2_tail_loop:
	TESTQ      CX, CX
	JZ         avx2_done
	MOVQ       $4, R11
	CMPQ       CX, R11
	CMOVQLT    CX, R11
	MOVQ       $4, R10
	SUBQ       R11, R10
	VMOVUPD    (R9)(R10*8), Y8
	VMASKMOVPD (SI), Y8, Y0
	EXP64Y(Y0, Y1, Y2, Y3)
	VANDPD     Y8, Y2, Y2
	VMOVUPD    (AX), Y9
	VADDPD     Y2, Y9, Y9
	VMOVUPD    Y9, (AX)
	TESTQ      DX, DX
	JZ         2(PC)
	VMASKMOVPD Y2, Y8, (DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	ADDQ       $32, AX
	SUBQ       R11, CX
	JMP        avx2_tail_loop

avx2_done:
	VZEROUPPER
	RET

// func expSumStreamAVX2F64(dst, x []float64, m float64, acc *[32]float64, pf uintptr, fresh bool, sdst, ssrc []float64, a float64)
//
// expSumStreamAVX2F64 is expSumStreamAVX512F64 for AVX2: every Y register
// is taken, so the stores use Y0-Y2 between the exponentials, with a
// broadcast of a from memory. The stores left after the main loop are done
// before the tail of the exponentials, which needs R10.
TEXT ·expSumStreamAVX2F64(SB), NOSPLIT, $0-136
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ acc+56(FP), AX
	LEAQ ·exp64Consts(SB), R8

	VBROADCASTSD m+48(FP), Y4
	VMOVUPD      C64_LO(R8), Y5
	VMOVUPD      C64_MAGIC(R8), Y6
	VMOVUPD      C64_ONE(R8), Y7

	// Streamed stores: one element at a time up to the first 32-byte
	// boundary of sdst.
	MOVQ       sdst_base+80(FP), BX
	MOVQ       sdst_len+88(FP), R10
	MOVQ       ssrc_base+104(FP), R13
	SUBQ       BX, R13
	LEAQ       ·tailMaskAVX2F64(SB), R9
	MOVQ       BX, R11
	NEGQ       R11
	ANDQ       $31, R11
	SHRQ       $3, R11
	CMPQ       R11, R10
	CMOVQGT    R10, R11
	SUBQ       R11, R10

es2_head:
	TESTQ   R11, R11
	JZ      es2_head_done
	VMOVSD  (BX)(R13*1), X0
	VMULSD  a+128(FP), X0, X0
	VMOVQ   X0, R12
	MOVNTIQ R12, (BX)
	ADDQ    $8, BX
	DECQ    R11
	JMP     es2_head

es2_head_done:

	MOVQ    pf+64(FP), R12
	VXORPD  Y8, Y8, Y8
	VXORPD  Y9, Y9, Y9
	VXORPD  Y10, Y10, Y10
	VXORPD  Y11, Y11, Y11
	VXORPD  Y12, Y12, Y12
	VXORPD  Y13, Y13, Y13
	VXORPD  Y14, Y14, Y14
	VXORPD  Y15, Y15, Y15
	CMPB    fresh+72(FP), $0
	JNE     es2_loop
	VMOVUPD (AX), Y8
	VMOVUPD 32(AX), Y9
	VMOVUPD 64(AX), Y10
	VMOVUPD 96(AX), Y11
	VMOVUPD 128(AX), Y12
	VMOVUPD 160(AX), Y13
	VMOVUPD 192(AX), Y14
	VMOVUPD 224(AX), Y15

es2_loop:
	CMPQ CX, $32
	JB   es2_tail
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	PREFETCHT1 128(R12)
	PREFETCHT1 192(R12)
	ADDQ $256, R12
	STEP64Y(0, Y8)
	STEP64Y(32, Y9)
	STEP64Y(64, Y10)
	STEP64Y(96, Y11)
	STEP64Y(128, Y12)
	STEP64Y(160, Y13)
	STEP64Y(192, Y14)
	STEP64Y(224, Y15)
	CMPQ R10, $32
	JB   es2_stored
	VBROADCASTSD a+128(FP), Y1
	VMULPD   (BX)(R13*1), Y1, Y0
	VMOVNTPD Y0, (BX)
	VMULPD   32(BX)(R13*1), Y1, Y0
	VMOVNTPD Y0, 32(BX)
	VMULPD   64(BX)(R13*1), Y1, Y0
	VMOVNTPD Y0, 64(BX)
	VMULPD   96(BX)(R13*1), Y1, Y0
	VMOVNTPD Y0, 96(BX)
	VMULPD   128(BX)(R13*1), Y1, Y0
	VMOVNTPD Y0, 128(BX)
	VMULPD   160(BX)(R13*1), Y1, Y0
	VMOVNTPD Y0, 160(BX)
	VMULPD   192(BX)(R13*1), Y1, Y0
	VMOVNTPD Y0, 192(BX)
	VMULPD   224(BX)(R13*1), Y1, Y0
	VMOVNTPD Y0, 224(BX)
	ADDQ $256, BX
	SUBQ $32, R10

es2_stored:
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $32, CX
	JMP  es2_loop

	// Fewer than 32 elements left: one vector of up to 4 lanes at a time.
es2_tail:
	VMOVUPD Y8, (AX)
	VMOVUPD Y9, 32(AX)
	VMOVUPD Y10, 64(AX)
	VMOVUPD Y11, 96(AX)
	VMOVUPD Y12, 128(AX)
	VMOVUPD Y13, 160(AX)
	VMOVUPD Y14, 192(AX)
	VMOVUPD Y15, 224(AX)
	LEAQ    ·tailMaskAVX2F64(SB), R9

	// The streamed stores left: whole vectors, then one element at a time.
es2_stream_rest:
	CMPQ R10, $4
	JB   es2_stream_last
	VBROADCASTSD a+128(FP), Y1
	VMULPD   (BX)(R13*1), Y1, Y0
	VMOVNTPD Y0, (BX)
	ADDQ $32, BX
	SUBQ $4, R10
	JMP  es2_stream_rest

es2_stream_last:
	TESTQ   R10, R10
	JZ      es2_tail_loop
	VMOVSD  (BX)(R13*1), X0
	VMULSD  a+128(FP), X0, X0
	VMOVQ   X0, R11
	MOVNTIQ R11, (BX)
	ADDQ    $8, BX
	DECQ    R10
	JMP     es2_stream_last

es2_tail_loop:
	TESTQ      CX, CX
	JZ         es2_done
	MOVQ       $4, R11
	CMPQ       CX, R11
	CMOVQLT    CX, R11
	MOVQ       $4, R10
	SUBQ       R11, R10
	VMOVUPD    (R9)(R10*8), Y8
	VMASKMOVPD (SI), Y8, Y0
	EXP64Y(Y0, Y1, Y2, Y3)
	VANDPD     Y8, Y2, Y2
	VMOVUPD    (AX), Y9
	VADDPD     Y2, Y9, Y9
	VMOVUPD    Y9, (AX)
	TESTQ      DX, DX
	JZ         2(PC)
	VMASKMOVPD Y2, Y8, (DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	ADDQ       $32, AX
	SUBQ       R11, CX
	JMP        es2_tail_loop

es2_done:
	VZEROUPPER
	RET

// func maxAVX512F64(x []float64) float64
TEXT ·maxAVX512F64(SB), NOSPLIT, $0-32
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ $0xfff0000000000000, R8 // -Inf
	VPBROADCASTQ R8, Z0
	VMOVAPD Z0, Z1
	VMOVAPD Z0, Z2
	VMOVAPD Z0, Z3

max512_loop:
	CMPQ CX, $32
	JB   max512_tail
	VMOVUPD (SI), Z4
	VMOVUPD 64(SI), Z5
	VMOVUPD 128(SI), Z6
	VMOVUPD 192(SI), Z7
	VMAXPD  Z0, Z4, Z0
	VMAXPD  Z1, Z5, Z1
	VMAXPD  Z2, Z6, Z2
	VMAXPD  Z3, Z7, Z3
	ADDQ    $256, SI
	SUBQ    $32, CX
	JMP     max512_loop

max512_tail:
	LEAQ ·tailMask16(SB), R9

max512_tail_loop:
	TESTQ   CX, CX
	JZ      max512_reduce
	MOVQ    $8, R11
	CMPQ    CX, R11
	CMOVQLT CX, R11
	KMOVW   (R9)(R11*2), K1
	VMOVUPD.Z (SI), K1, Z4
	VMAXPD  Z0, Z4, K1, Z0
	ADDQ    $64, SI
	SUBQ    R11, CX
	JMP     max512_tail_loop

max512_reduce:
	VMAXPD        Z1, Z0, Z0
	VMAXPD        Z3, Z2, Z2
	VMAXPD        Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPD        X1, X0, X0
	VPERMILPD     $1, X0, X1
	VMAXPD        X1, X0, X0
	VMOVSD        X0, ret+24(FP)
	VZEROUPPER
	RET

// func maxAVX2F64(x []float64) float64
TEXT ·maxAVX2F64(SB), NOSPLIT, $0-32
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVQ $0xfff0000000000000, R8
	MOVQ R8, X0
	VBROADCASTSD X0, Y0
	VMOVAPD Y0, Y1
	VMOVAPD Y0, Y2
	VMOVAPD Y0, Y3

max2_loop:
	CMPQ CX, $16
	JB   max2_tail
	VMOVUPD (SI), Y4
	VMOVUPD 32(SI), Y5
	VMOVUPD 64(SI), Y6
	VMOVUPD 96(SI), Y7
	VMAXPD  Y0, Y4, Y0
	VMAXPD  Y1, Y5, Y1
	VMAXPD  Y2, Y6, Y2
	VMAXPD  Y3, Y7, Y3
	ADDQ    $128, SI
	SUBQ    $16, CX
	JMP     max2_loop

max2_tail:
	TESTQ   CX, CX
	JZ      max2_reduce
	VMOVUPD (SI), Y4
	VMAXPD  Y0, Y4, Y0
	ADDQ    $32, SI
	SUBQ    $4, CX
	JMP     max2_tail

max2_reduce:
	VMAXPD       Y1, Y0, Y0
	VMAXPD       Y3, Y2, Y2
	VMAXPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPD       X1, X0, X0
	VPERMILPD    $1, X0, X1
	VMAXPD       X1, X0, X0
	VMOVSD       X0, ret+24(FP)
	VZEROUPPER
	RET

// func scaleAVX512F64(dst, src []float64, a float64, pf uintptr, stream bool)
TEXT ·scaleAVX512F64(SB), NOSPLIT, $0-65
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	VBROADCASTSD a+48(FP), Z16
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
	SHRQ    $3, R10
	CMPQ    R10, CX
	CMOVQGT CX, R10
	SUBQ    R10, CX

scale512_stream_head:
	TESTQ   R10, R10
	JZ      scale512_stream_loop
	VMOVSD  (SI), X0
	VMULSD  X16, X0, X0
	VMOVQ   X0, R11
	MOVNTIQ R11, (DI)
	ADDQ    $8, SI
	ADDQ    $8, DI
	DECQ    R10
	JMP     scale512_stream_head

scale512_stream_loop:
	CMPQ CX, $32
	JB   scale512_stream_done
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ $128, R12
	VMULPD  (SI), Z16, Z0
	VMULPD  64(SI), Z16, Z1
	VMULPD  128(SI), Z16, Z2
	VMULPD  192(SI), Z16, Z3
	VMOVNTPD Z0, (DI)
	VMOVNTPD Z1, 64(DI)
	VMOVNTPD Z2, 128(DI)
	VMOVNTPD Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $32, CX
	JMP  scale512_stream_loop

scale512_stream_done:
	CMPQ CX, $8
	JB   scale512_stream_last
	VMULPD  (SI), Z16, Z0
	VMOVNTPD Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $8, CX
	JMP  scale512_stream_done

scale512_stream_last:
	TESTQ   CX, CX
	JZ      scale512_done
	VMOVSD  (SI), X0
	VMULSD  X16, X0, X0
	VMOVQ   X0, R11
	MOVNTIQ R11, (DI)
	ADDQ    $8, SI
	ADDQ    $8, DI
	DECQ    CX
	JMP     scale512_stream_last

scale512_loop:
	CMPQ CX, $32
	JB   scale512_tail
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ $128, R12
	VMULPD  (SI), Z16, Z0
	VMULPD  64(SI), Z16, Z1
	VMULPD  128(SI), Z16, Z2
	VMULPD  192(SI), Z16, Z3
	VMOVUPD Z0, (DI)
	VMOVUPD Z1, 64(DI)
	VMOVUPD Z2, 128(DI)
	VMOVUPD Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $32, CX
	JMP  scale512_loop

scale512_tail:
	TESTQ   CX, CX
	JZ      scale512_done
	MOVQ    $8, R11
	CMPQ    CX, R11
	CMOVQLT CX, R11
	KMOVW   (R9)(R11*2), K1
	VMOVUPD.Z (SI), K1, Z0
	VMULPD  Z16, Z0, Z0
	VMOVUPD Z0, K1, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    R11, CX
	JMP     scale512_tail

scale512_done:
	VZEROUPPER
	RET

// func scaleAVX2F64(dst, src []float64, a float64, pf uintptr, stream bool)
TEXT ·scaleAVX2F64(SB), NOSPLIT, $0-65
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	VBROADCASTSD a+48(FP), Y7
	MOVQ pf+56(FP), R12
	LEAQ ·tailMaskAVX2F64(SB), R9
	CMPB stream+64(FP), $0
	JEQ  scale2_loop

	// Streaming: one element at a time up to the first 32-byte boundary
	// of dst, then non-temporal stores of whole vectors. Only streamed stores
	// reach dst, because a plain store to a line being streamed out would
	// read the line back from memory first.
	MOVQ    DI, R10
	NEGQ    R10
	ANDQ    $31, R10
	SHRQ    $3, R10
	CMPQ    R10, CX
	CMOVQGT CX, R10
	SUBQ    R10, CX

scale2_stream_head:
	TESTQ   R10, R10
	JZ      scale2_stream_loop
	VMOVSD  (SI), X0
	VMULSD  X7, X0, X0
	VMOVQ   X0, R11
	MOVNTIQ R11, (DI)
	ADDQ    $8, SI
	ADDQ    $8, DI
	DECQ    R10
	JMP     scale2_stream_head

scale2_stream_loop:
	CMPQ CX, $16
	JB   scale2_stream_done
	PREFETCHT1 (R12)
	ADDQ $64, R12
	VMULPD  (SI), Y7, Y0
	VMULPD  32(SI), Y7, Y1
	VMULPD  64(SI), Y7, Y2
	VMULPD  96(SI), Y7, Y3
	VMOVNTPD Y0, (DI)
	VMOVNTPD Y1, 32(DI)
	VMOVNTPD Y2, 64(DI)
	VMOVNTPD Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $16, CX
	JMP  scale2_stream_loop

scale2_stream_done:
	CMPQ CX, $4
	JB   scale2_stream_last
	VMULPD  (SI), Y7, Y0
	VMOVNTPD Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $4, CX
	JMP  scale2_stream_done

scale2_stream_last:
	TESTQ   CX, CX
	JZ      scale2_done
	VMOVSD  (SI), X0
	VMULSD  X7, X0, X0
	VMOVQ   X0, R11
	MOVNTIQ R11, (DI)
	ADDQ    $8, SI
	ADDQ    $8, DI
	DECQ    CX
	JMP     scale2_stream_last

scale2_loop:
	CMPQ CX, $16
	JB   scale2_tail
	PREFETCHT1 (R12)
	ADDQ $64, R12
	VMULPD  (SI), Y7, Y0
	VMULPD  32(SI), Y7, Y1
	VMULPD  64(SI), Y7, Y2
	VMULPD  96(SI), Y7, Y3
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $16, CX
	JMP  scale2_loop

scale2_tail:
	TESTQ      CX, CX
	JZ         scale2_done
	MOVQ       $4, R11
	CMPQ       CX, R11
	CMOVQLT    CX, R11
	MOVQ       $4, R10
	SUBQ       R11, R10
	VMOVUPS    (R9)(R10*8), Y6
	VMASKMOVPD (SI), Y6, Y0
	VMULPD     Y7, Y0, Y0
	VMASKMOVPD Y0, Y6, (DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	SUBQ       R11, CX
	JMP        scale2_tail

scale2_done:
	VZEROUPPER
	RET

// The combine kernels add the 32 partial sums in the tree of combineGo64,
// the partial with the lower index always the first operand.

// func combineAVX512F64(acc *[32]float64) float64
TEXT ·combineAVX512F64(SB), NOSPLIT, $0-16
	MOVQ          acc+0(FP), AX
	VMOVUPD       (AX), Z0
	VMOVUPD       64(AX), Z1
	VMOVUPD       128(AX), Z2
	VMOVUPD       192(AX), Z3
	VADDPD        Z2, Z0, Z0 // n = 32
	VADDPD        Z3, Z1, Z1
	VADDPD        Z1, Z0, Z0 // n = 16
	VEXTRACTF64X4 $1, Z0, Y1 // n = 8
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1 // n = 4
	VADDPD        X1, X0, X0
	VPERMILPD     $1, X0, X1 // n = 2
	VADDSD        X1, X0, X0
	VMOVSD        X0, ret+8(FP)
	VZEROUPPER
	RET

// func combineAVX2F64(acc *[32]float64) float64
TEXT ·combineAVX2F64(SB), NOSPLIT, $0-16
	MOVQ         acc+0(FP), AX
	VMOVUPD      (AX), Y0
	VMOVUPD      32(AX), Y1
	VMOVUPD      64(AX), Y2
	VMOVUPD      96(AX), Y3
	VADDPD       128(AX), Y0, Y0 // n = 32
	VADDPD       160(AX), Y1, Y1
	VADDPD       192(AX), Y2, Y2
	VADDPD       224(AX), Y3, Y3
	VADDPD       Y2, Y0, Y0 // n = 16
	VADDPD       Y3, Y1, Y1
	VADDPD       Y1, Y0, Y0 // n = 8
	VEXTRACTF128 $1, Y0, X1 // n = 4
	VADDPD       X1, X0, X0
	VPERMILPD    $1, X0, X1 // n = 2
	VADDSD       X1, X0, X0
	VMOVSD       X0, ret+8(FP)
	VZEROUPPER
	RET

// func storeNTF64(p *float64, v float64)
//
// storeNTF64 stores v at p with a non-temporal store.
TEXT ·storeNTF64(SB), NOSPLIT, $0-16
	MOVQ    p+0(FP), AX
	MOVQ    v+8(FP), BX
	MOVNTIQ BX, (AX)
	RET
