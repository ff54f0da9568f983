//go:build !purego

#include "textflag.h"

// Byte offsets of the vectors of a row, for kernels_amd64.h.
#define VW1 64
#define VW2 128
#define VW3 192
#define VB4 256
#define VN4 64

#include "kernels_amd64.h"

// AVX-512 (F + VL) kernels, 512-bit vectors of 16 float32. Tails are handled
// with K-masked loads and stores: a masked-out lane is neither read (fault
// suppression) nor written, so no kernel touches memory outside its slices.
// The Go wrappers in kernels_amd64.go check lengths, compute masks and split
// long calls; these functions trust their arguments.
//
// Operand order is Go's: VFMADD231PS B, A, D computes D += A·B, and
// VMAXPS V, LO, V is Intel's VMAXPS V, LO, V = (LO > V) ? LO : V, which keeps
// a NaN V and a −0 V against a +0 bound, exactly like clampGeneric.

// The four 16-bit lane masks packed in AX (low to high) into k0…k3.
#define KMASKS(k0, k1, k2, k3) KMOVW AX, k0; SHRQ $16, AX; KMOVW AX, k1; SHRQ $16, AX; KMOVW AX, k2; SHRQ $16, AX; KMOVW AX, k3

// K1 = (1 << (CX & 15)) - 1; clobbers AX, CX.
#define TAILMASK_K1(n) \
	MOVQ	n, CX; \
	ANDQ	$15, CX; \
	MOVL	$1, AX; \
	SHLL	CX, AX; \
	DECL	AX; \
	KMOVW	AX, K1

// One vector a step of a dot product while a vector is left, then the
// masked tail (K1) of the last cnt mod 16 (x, y advance).
#define DOT16_LOOP(lbl, next, x, y, cnt, acc) \
lbl: \
	CMPQ	cnt, $16; \
	JB	next; \
	VMOVUPS	(x), Z4; \
	VFMADD231PS	(y), Z4, acc; \
	ADDQ	$64, x; \
	ADDQ	$64, y; \
	SUBQ	$16, cnt; \
	JMP	lbl
#define DOT_MASKED(lbl, done, x, y, cnt, acc) \
lbl: \
	TESTQ	cnt, cnt; \
	JZ	done; \
	VMOVUPS.Z	(x), K1, Z4; \
	VMOVUPS.Z	(y), K1, Z5; \
	VFMADD231PS	Z5, Z4, acc

// Sum the 16 lanes of Z into the low lane of X (X is Z's low part, T a
// scratch register below 16).
#define HSUM_Z(Z, Y, X, YT, XT) \
	VEXTRACTF64X4	$1, Z, YT; \
	VADDPS	YT, Y, Y; \
	VEXTRACTF128	$1, Y, XT; \
	VADDPS	XT, X, X; \
	VMOVHLPS	X, X, XT; \
	VADDPS	XT, X, X; \
	VMOVSHDUP	X, XT; \
	VADDSS	XT, X, X

// Fold the 16 lanes of Z into 4 partial sums in X.
#define FOLD_Z4(Z, Y, X, YT, XT) \
	VEXTRACTF64X4	$1, Z, YT; \
	VADDPS	YT, Y, Y; \
	VEXTRACTF128	$1, Y, XT; \
	VADDPS	XT, X, X

// FOLD_Z4 with EVEX-only scratch registers (16…31).
#define FOLD_Z4E(Z, Y, X, YT, XT) \
	VEXTRACTF64X4	$1, Z, YT; \
	VADDPS	YT, Y, Y; \
	VEXTRACTF32X4	$1, Y, XT; \
	VADDPS	XT, X, X

// func dotAVX512(x, y *float32, n int) float32
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ	x+0(FP), SI
	MOVQ	y+8(FP), DI
	MOVQ	n+16(FP), DX
	ZERO4(VPXORD, Z0, Z1, Z2, Z3)
	TAILMASK_K1(DX)
	CMPQ	DX, $64
	JB	d16

	DOT4_LOOP(d64, SI, DI, DX, Z4, Z5, Z6, Z7, Z0, Z1, Z2, Z3)

	DOT16_LOOP(d16, dtail, SI, DI, DX, Z0)

	DOT_MASKED(dtail, dsum, SI, DI, DX, Z1)

dsum:
	SUM4(Z0, Z1, Z2, Z3)
	HSUM_Z(Z0, Y0, X0, Y1, X1)
	VMOVSS	X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX512(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX512(SB), NOSPLIT, $0-32
	VBROADCASTSS	alpha+0(FP), Z0
	MOVQ	x+8(FP), SI
	MOVQ	y+16(FP), DI
	MOVQ	n+24(FP), DX
	TAILMASK_K1(DX)
	CMPQ	DX, $64
	JB	a16

	AXPY4_LOOP(a64, Z0, SI, DI, DX, Z1, Z2, Z3, Z4)

a16:
	CMPQ	DX, $16
	JB	atail
	VMOVUPS	(DI), Z1
	VFMADD231PS	(SI), Z0, Z1
	VMOVUPS	Z1, (DI)
	ADDQ	$64, SI
	ADDQ	$64, DI
	SUBQ	$16, DX
	JMP	a16

atail:
	TESTQ	DX, DX
	JZ	adone
	VMOVUPS.Z	(DI), K1, Z1
	VMOVUPS.Z	(SI), K1, Z2
	VFMADD231PS	Z2, Z0, Z1
	VMOVUPS	Z1, K1, (DI)

adone:
	VZEROUPPER
	RET

// func clampAVX512(x *float32, n int, lo, hi float32)
TEXT ·clampAVX512(SB), NOSPLIT, $0-24
	MOVQ	x+0(FP), DI
	MOVQ	n+8(FP), DX
	VBROADCASTSS	lo+16(FP), Z0
	VBROADCASTSS	hi+20(FP), Z1
	TAILMASK_K1(DX)
	CMPQ	DX, $64
	JB	c16

	CLAMP4_LOOP(c64, Z0, Z1, DI, DX, Z2, Z3, Z4, Z5)

c16:
	CMPQ	DX, $16
	JB	ctail
	VMOVUPS	(DI), Z2
	VMAXPS	Z2, Z0, Z2
	VMINPS	Z2, Z1, Z2
	VMOVUPS	Z2, (DI)
	ADDQ	$64, DI
	SUBQ	$16, DX
	JMP	c16

ctail:
	TESTQ	DX, DX
	JZ	cdone
	VMOVUPS.Z	(DI), K1, Z2
	VMAXPS	Z2, Z0, Z2
	VMINPS	Z2, Z1, Z2
	VMOVUPS	Z2, K1, (DI)

cdone:
	VZEROUPPER
	RET

// func matVecAVX512(y, a, x *float32, m, n, lda int, acc bool)
//
// Four rows at a time share each load of x; two vectors of columns per row
// give eight independent accumulators. The four row sums are folded and
// combined with VHADDPS into one 128-bit store.
TEXT ·matVecAVX512(SB), NOSPLIT, $0-49
	MOVQ	y+0(FP), DI
	MOVQ	a+8(FP), SI
	MOVQ	x+16(FP), DX
	MOVQ	m+24(FP), R11
	MOVQ	n+32(FP), R12
	MOVQ	lda+40(FP), R8
	SHLQ	$2, R8
	LEAQ	(R8)(R8*2), R9
	MOVBQZX	acc+48(FP), R13
	TAILMASK_K1(R12)

mv4:
	CMPQ	R11, $4
	JB	mv1
	ZERO4(VPXORD, Z0, Z1, Z2, Z3)
	ZERO4(VPXORD, Z4, Z5, Z6, Z7)
	MOVQ	SI, AX
	MOVQ	DX, BX
	MOVQ	R12, CX

mv4_32:
	CMPQ	CX, $32
	JB	mv4_16
	VMOVUPS	(BX), Z8
	VMOVUPS	64(BX), Z9
	FMA4ROWS2(Z8, Z9, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7)
	ADDQ	$128, AX
	ADDQ	$128, BX
	SUBQ	$32, CX
	JMP	mv4_32

mv4_16:
	CMPQ	CX, $16
	JB	mv4_tail
	VMOVUPS	(BX), Z8
	FMA4(Z8, (AX), (AX)(R8*1), (AX)(R8*2), (AX)(R9*1), Z0, Z2, Z4, Z6)
	ADDQ	$64, AX
	ADDQ	$64, BX
	SUBQ	$16, CX

mv4_tail:
	TESTQ	CX, CX
	JZ	mv4_sum
	VMOVUPS.Z	(BX), K1, Z8
	VMOVUPS.Z	(AX), K1, Z10
	VMOVUPS.Z	(AX)(R8*1), K1, Z11
	VMOVUPS.Z	(AX)(R8*2), K1, Z12
	VMOVUPS.Z	(AX)(R9*1), K1, Z13
	FMA4(Z8, Z10, Z11, Z12, Z13, Z1, Z3, Z5, Z7)

mv4_sum:
	ADD4(Z1, Z3, Z5, Z7, Z0, Z2, Z4, Z6)
	FOLD_Z4(Z0, Y0, X0, Y1, X1)
	FOLD_Z4(Z2, Y2, X2, Y3, X3)
	FOLD_Z4(Z4, Y4, X4, Y5, X5)
	FOLD_Z4(Z6, Y6, X6, Y7, X7)
	VHADDPS	X2, X0, X0
	VHADDPS	X6, X4, X4
	VHADDPS	X4, X0, X0
	TESTQ	R13, R13
	JZ	mv4_store
	VADDPS	(DI), X0, X0

mv4_store:
	VMOVUPS	X0, (DI)
	ADDQ	$16, DI
	LEAQ	(SI)(R8*4), SI
	SUBQ	$4, R11
	JMP	mv4

mv1:
	TESTQ	R11, R11
	JZ	mvdone
	VPXORD	Z0, Z0, Z0
	VPXORD	Z1, Z1, Z1
	MOVQ	SI, AX
	MOVQ	DX, BX
	MOVQ	R12, CX

mv1_32:
	CMPQ	CX, $32
	JB	mv1_16
	VMOVUPS	(BX), Z8
	VMOVUPS	64(BX), Z9
	VFMADD231PS	(AX), Z8, Z0
	VFMADD231PS	64(AX), Z9, Z1
	ADDQ	$128, AX
	ADDQ	$128, BX
	SUBQ	$32, CX
	JMP	mv1_32

mv1_16:
	CMPQ	CX, $16
	JB	mv1_tail
	VMOVUPS	(BX), Z8
	VFMADD231PS	(AX), Z8, Z0
	ADDQ	$64, AX
	ADDQ	$64, BX
	SUBQ	$16, CX

mv1_tail:
	TESTQ	CX, CX
	JZ	mv1_sum
	VMOVUPS.Z	(BX), K1, Z8
	VMOVUPS.Z	(AX), K1, Z10
	VFMADD231PS	Z10, Z8, Z1

mv1_sum:
	VADDPS	Z1, Z0, Z0
	HSUM_Z(Z0, Y0, X0, Y1, X1)
	TESTQ	R13, R13
	JZ	mv1_store
	VADDSS	(DI), X0, X0

mv1_store:
	VMOVSS	X0, (DI)
	ADDQ	$4, DI
	ADDQ	R8, SI
	DECQ	R11
	JMP	mv1

mvdone:
	VZEROUPPER
	RET

// func matTVecAVX512(y, a, x *float32, m, n, lda int, acc bool)
//
// y[j] (+)= Σ_i x[i]·a[i*lda+j]. Column blocks of 64 stay in registers while
// the rows stream past; even and odd rows go to separate accumulators.
TEXT ·matTVecAVX512(SB), NOSPLIT, $0-49
	MOVQ	y+0(FP), DI
	MOVQ	a+8(FP), SI
	MOVQ	x+16(FP), DX
	MOVQ	m+24(FP), R11
	MOVQ	n+32(FP), R12
	MOVQ	lda+40(FP), R8
	SHLQ	$2, R8
	MOVBQZX	acc+48(FP), R13
	TAILMASK_K1(R12)

	MATTVEC_BLOCK4(VPXORD, mt64, mt16, mt64_init, mt64_2, mt64_1, mt64_store, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9)

mt16:
	CMPQ	R12, $16
	JB	mttail
	VPXORD	Z0, Z0, Z0
	TESTQ	R13, R13
	JZ	mt16_init
	VMOVUPS	(DI), Z0

mt16_init:
	VPXORD	Z4, Z4, Z4
	MOVQ	SI, AX
	MOVQ	DX, BX
	MOVQ	R11, CX

mt16_2:
	CMPQ	CX, $2
	JB	mt16_1
	VBROADCASTSS	(BX), Z8
	VBROADCASTSS	4(BX), Z9
	VFMADD231PS	(AX), Z8, Z0
	VFMADD231PS	(AX)(R8*1), Z9, Z4
	LEAQ	(AX)(R8*2), AX
	ADDQ	$8, BX
	SUBQ	$2, CX
	JMP	mt16_2

mt16_1:
	TESTQ	CX, CX
	JZ	mt16_store
	VBROADCASTSS	(BX), Z8
	VFMADD231PS	(AX), Z8, Z0

mt16_store:
	VADDPS	Z4, Z0, Z0
	VMOVUPS	Z0, (DI)
	ADDQ	$64, DI
	ADDQ	$64, SI
	SUBQ	$16, R12
	JMP	mt16

mttail:
	TESTQ	R12, R12
	JZ	mtdone
	VPXORD	Z0, Z0, Z0
	TESTQ	R13, R13
	JZ	mttail_init
	VMOVUPS.Z	(DI), K1, Z0

mttail_init:
	VPXORD	Z4, Z4, Z4
	MOVQ	SI, AX
	MOVQ	DX, BX
	MOVQ	R11, CX

mttail_2:
	CMPQ	CX, $2
	JB	mttail_1
	VBROADCASTSS	(BX), Z8
	VBROADCASTSS	4(BX), Z9
	VMOVUPS.Z	(AX), K1, Z10
	VMOVUPS.Z	(AX)(R8*1), K1, Z11
	VFMADD231PS	Z10, Z8, Z0
	VFMADD231PS	Z11, Z9, Z4
	LEAQ	(AX)(R8*2), AX
	ADDQ	$8, BX
	SUBQ	$2, CX
	JMP	mttail_2

mttail_1:
	TESTQ	CX, CX
	JZ	mttail_store
	VBROADCASTSS	(BX), Z8
	VMOVUPS.Z	(AX), K1, Z10
	VFMADD231PS	Z10, Z8, Z0

mttail_store:
	VADDPS	Z4, Z0, Z0
	VMOVUPS	Z0, K1, (DI)

mtdone:
	VZEROUPPER
	RET


// func gemmAVX512(c, a, b *float32, m, k, lda, ldb, ldc int, masks uint64, nv int, acc bool)
//
// One column panel of C (at most 64 columns, nv vectors; masks holds the four
// 16-bit lane masks of the panel's vectors) for all m rows: blocks of four
// rows × nv vectors of accumulators; per p, the panel's row of B is loaded
// once and each A element is broadcast once.
TEXT ·gemmAVX512(SB), NOSPLIT, $0-81
	MOVQ	masks+64(FP), AX
	KMASKS(K1, K2, K3, K4)
	MOVQ	c+0(FP), DI
	MOVQ	a+8(FP), SI
	MOVQ	m+24(FP), R11
	MOVQ	lda+40(FP), R8
	SHLQ	$2, R8
	MOVQ	ldb+48(FP), R9
	SHLQ	$2, R9
	MOVQ	ldc+56(FP), R10
	SHLQ	$2, R10
	MOVQ	nv+72(FP), AX
	CMPQ	AX, $2
	JB	g1
	JE	g2

	// ---- nv = 3 or 4: 4 rows × 4 vectors, 16 accumulators.
g4:
	TESTQ	R11, R11
	JLE	gdone
	ZERO4(VPXORD, Z0, Z1, Z2, Z3)
	ZERO4(VPXORD, Z4, Z5, Z6, Z7)
	ZERO4(VPXORD, Z8, Z9, Z10, Z11)
	ZERO4(VPXORD, Z12, Z13, Z14, Z15)
	CMPB	acc+80(FP), $0
	JE	g4_k
	ROWOFFS(R10)
	VMOVUPS.Z	(DI), K1, Z0
	VMOVUPS.Z	64(DI), K2, Z1
	VMOVUPS.Z	128(DI), K3, Z2
	VMOVUPS.Z	192(DI), K4, Z3
	VMOVUPS.Z	(DI)(R12*1), K1, Z4
	VMOVUPS.Z	64(DI)(R12*1), K2, Z5
	VMOVUPS.Z	128(DI)(R12*1), K3, Z6
	VMOVUPS.Z	192(DI)(R12*1), K4, Z7
	VMOVUPS.Z	(DI)(R13*1), K1, Z8
	VMOVUPS.Z	64(DI)(R13*1), K2, Z9
	VMOVUPS.Z	128(DI)(R13*1), K3, Z10
	VMOVUPS.Z	192(DI)(R13*1), K4, Z11
	VMOVUPS.Z	(DI)(DX*1), K1, Z12
	VMOVUPS.Z	64(DI)(DX*1), K2, Z13
	VMOVUPS.Z	128(DI)(DX*1), K3, Z14
	VMOVUPS.Z	192(DI)(DX*1), K4, Z15

g4_k:
	ROWOFFS(R8)
	MOVQ	SI, AX
	MOVQ	b+16(FP), BX
	MOVQ	k+32(FP), CX

g4_loop:
	VMOVUPS.Z	(BX), K1, Z16
	VMOVUPS.Z	64(BX), K2, Z17
	VMOVUPS.Z	128(BX), K3, Z18
	VMOVUPS.Z	192(BX), K4, Z19
	VBROADCASTSS	(AX), Z20
	VBROADCASTSS	(AX)(R12*1), Z21
	VBROADCASTSS	(AX)(R13*1), Z22
	VBROADCASTSS	(AX)(DX*1), Z23
	FMA4(Z20, Z16, Z17, Z18, Z19, Z0, Z1, Z2, Z3)
	FMA4(Z21, Z16, Z17, Z18, Z19, Z4, Z5, Z6, Z7)
	FMA4(Z22, Z16, Z17, Z18, Z19, Z8, Z9, Z10, Z11)
	FMA4(Z23, Z16, Z17, Z18, Z19, Z12, Z13, Z14, Z15)
	ADDQ	$4, AX
	ADDQ	R9, BX
	DECQ	CX
	JNZ	g4_loop

	ROWOFFS(R10)
	VMOVUPS	Z0, K1, (DI)
	VMOVUPS	Z1, K2, 64(DI)
	VMOVUPS	Z2, K3, 128(DI)
	VMOVUPS	Z3, K4, 192(DI)
	VMOVUPS	Z4, K1, (DI)(R12*1)
	VMOVUPS	Z5, K2, 64(DI)(R12*1)
	VMOVUPS	Z6, K3, 128(DI)(R12*1)
	VMOVUPS	Z7, K4, 192(DI)(R12*1)
	VMOVUPS	Z8, K1, (DI)(R13*1)
	VMOVUPS	Z9, K2, 64(DI)(R13*1)
	VMOVUPS	Z10, K3, 128(DI)(R13*1)
	VMOVUPS	Z11, K4, 192(DI)(R13*1)
	VMOVUPS	Z12, K1, (DI)(DX*1)
	VMOVUPS	Z13, K2, 64(DI)(DX*1)
	VMOVUPS	Z14, K3, 128(DI)(DX*1)
	VMOVUPS	Z15, K4, 192(DI)(DX*1)
	LEAQ	(DI)(R10*4), DI
	LEAQ	(SI)(R8*4), SI
	SUBQ	$4, R11
	JMP	g4

	// ---- nv = 2: 4 rows × 2 vectors, 8 accumulators.
g2:
	TESTQ	R11, R11
	JLE	gdone
	ZERO4(VPXORD, Z0, Z1, Z2, Z3)
	ZERO4(VPXORD, Z4, Z5, Z6, Z7)
	CMPB	acc+80(FP), $0
	JE	g2_k
	ROWOFFS(R10)
	VMOVUPS.Z	(DI), K1, Z0
	VMOVUPS.Z	64(DI), K2, Z1
	VMOVUPS.Z	(DI)(R12*1), K1, Z2
	VMOVUPS.Z	64(DI)(R12*1), K2, Z3
	VMOVUPS.Z	(DI)(R13*1), K1, Z4
	VMOVUPS.Z	64(DI)(R13*1), K2, Z5
	VMOVUPS.Z	(DI)(DX*1), K1, Z6
	VMOVUPS.Z	64(DI)(DX*1), K2, Z7

g2_k:
	ROWOFFS(R8)
	MOVQ	SI, AX
	MOVQ	b+16(FP), BX
	MOVQ	k+32(FP), CX

g2_loop:
	VMOVUPS.Z	(BX), K1, Z16
	VMOVUPS.Z	64(BX), K2, Z17
	VBROADCASTSS	(AX), Z20
	VBROADCASTSS	(AX)(R12*1), Z21
	VBROADCASTSS	(AX)(R13*1), Z22
	VBROADCASTSS	(AX)(DX*1), Z23
	VFMADD231PS	Z16, Z20, Z0
	VFMADD231PS	Z17, Z20, Z1
	VFMADD231PS	Z16, Z21, Z2
	VFMADD231PS	Z17, Z21, Z3
	VFMADD231PS	Z16, Z22, Z4
	VFMADD231PS	Z17, Z22, Z5
	VFMADD231PS	Z16, Z23, Z6
	VFMADD231PS	Z17, Z23, Z7
	ADDQ	$4, AX
	ADDQ	R9, BX
	DECQ	CX
	JNZ	g2_loop

	ROWOFFS(R10)
	VMOVUPS	Z0, K1, (DI)
	VMOVUPS	Z1, K2, 64(DI)
	VMOVUPS	Z2, K1, (DI)(R12*1)
	VMOVUPS	Z3, K2, 64(DI)(R12*1)
	VMOVUPS	Z4, K1, (DI)(R13*1)
	VMOVUPS	Z5, K2, 64(DI)(R13*1)
	VMOVUPS	Z6, K1, (DI)(DX*1)
	VMOVUPS	Z7, K2, 64(DI)(DX*1)
	LEAQ	(DI)(R10*4), DI
	LEAQ	(SI)(R8*4), SI
	SUBQ	$4, R11
	JMP	g2

	// ---- nv = 1: 4 rows × 1 vector, p unrolled by two into 8 accumulators.
g1:
	TESTQ	R11, R11
	JLE	gdone
	ZERO4(VPXORD, Z0, Z1, Z2, Z3)
	ZERO4(VPXORD, Z4, Z5, Z6, Z7)
	CMPB	acc+80(FP), $0
	JE	g1_k
	ROWOFFS(R10)
	VMOVUPS.Z	(DI), K1, Z0
	VMOVUPS.Z	(DI)(R12*1), K1, Z1
	VMOVUPS.Z	(DI)(R13*1), K1, Z2
	VMOVUPS.Z	(DI)(DX*1), K1, Z3

g1_k:
	ROWOFFS(R8)
	MOVQ	SI, AX
	MOVQ	b+16(FP), BX
	MOVQ	k+32(FP), CX

g1_loop2:
	CMPQ	CX, $2
	JB	g1_loop1
	VMOVUPS.Z	(BX), K1, Z16
	VMOVUPS.Z	(BX)(R9*1), K1, Z17
	VBROADCASTSS	(AX), Z20
	VBROADCASTSS	(AX)(R12*1), Z21
	VBROADCASTSS	(AX)(R13*1), Z22
	VBROADCASTSS	(AX)(DX*1), Z23
	VBROADCASTSS	4(AX), Z24
	VBROADCASTSS	4(AX)(R12*1), Z25
	VBROADCASTSS	4(AX)(R13*1), Z26
	VBROADCASTSS	4(AX)(DX*1), Z27
	VFMADD231PS	Z16, Z20, Z0
	VFMADD231PS	Z16, Z21, Z1
	VFMADD231PS	Z16, Z22, Z2
	VFMADD231PS	Z16, Z23, Z3
	VFMADD231PS	Z17, Z24, Z4
	VFMADD231PS	Z17, Z25, Z5
	VFMADD231PS	Z17, Z26, Z6
	VFMADD231PS	Z17, Z27, Z7
	ADDQ	$8, AX
	LEAQ	(BX)(R9*2), BX
	SUBQ	$2, CX
	JMP	g1_loop2

g1_loop1:
	TESTQ	CX, CX
	JZ	g1_store
	VMOVUPS.Z	(BX), K1, Z16
	VBROADCASTSS	(AX), Z20
	VBROADCASTSS	(AX)(R12*1), Z21
	VBROADCASTSS	(AX)(R13*1), Z22
	VBROADCASTSS	(AX)(DX*1), Z23
	VFMADD231PS	Z16, Z20, Z0
	VFMADD231PS	Z16, Z21, Z1
	VFMADD231PS	Z16, Z22, Z2
	VFMADD231PS	Z16, Z23, Z3

g1_store:
	ADD4(Z4, Z5, Z6, Z7, Z0, Z1, Z2, Z3)
	ROWOFFS(R10)
	VMOVUPS	Z0, K1, (DI)
	VMOVUPS	Z1, K1, (DI)(R12*1)
	VMOVUPS	Z2, K1, (DI)(R13*1)
	VMOVUPS	Z3, K1, (DI)(DX*1)
	LEAQ	(DI)(R10*4), DI
	LEAQ	(SI)(R8*4), SI
	SUBQ	$4, R11
	JMP	g1

gdone:
	VZEROUPPER
	RET

// func gemmNTAVX512(c, a, b *float32, rv, k, n, lda, ldb, ldc int, acc bool)
//
// One block of rv ≤ 4 rows of C = A·Bᵀ: for every group of four rows of B,
// sixteen accumulators hold the 4×4 dot products; A and B are each loaded
// once per k-chunk. The accumulators are folded and combined with VHADDPS
// into one 4-float row of C each.
TEXT ·gemmNTAVX512(SB), NOSPLIT, $0-73
	// A row pointers: SI, R12, R13, DX (rows past rv repeat the last one).
	MOVQ	a+8(FP), SI
	MOVQ	lda+48(FP), R8
	SHLQ	$2, R8
	MOVQ	rv+24(FP), R11
	ROWOFFS(R8)
	ADDQ	SI, R12
	ADDQ	SI, R13
	ADDQ	SI, DX
	MOVQ	k+32(FP), AX
	TAILMASK_K1(AX)
	MOVQ	c+0(FP), DI
	MOVQ	b+16(FP), R8
	MOVQ	n+40(FP), BX

nt_block:
	TESTQ	BX, BX
	JLE	nt_done
	// B row pointers R8 (row j0), R9, R10, R11: min(r, jv−1) rows further.
	MOVQ	$4, AX
	CMPQ	BX, AX
	CMOVQLT	BX, AX
	DECQ	AX
	MOVQ	$1, R9
	CMPQ	AX, R9
	CMOVQLT	AX, R9
	MOVQ	$2, R10
	CMPQ	AX, R10
	CMOVQLT	AX, R10
	MOVQ	$3, R11
	CMPQ	AX, R11
	CMOVQLT	AX, R11
	MOVQ	ldb+56(FP), AX
	SHLQ	$2, AX
	IMULQ	AX, R9
	IMULQ	AX, R10
	IMULQ	AX, R11
	ADDQ	R8, R9
	ADDQ	R8, R10
	ADDQ	R8, R11
	ZERO4(VPXORD, Z0, Z1, Z2, Z3)
	ZERO4(VPXORD, Z4, Z5, Z6, Z7)
	ZERO4(VPXORD, Z8, Z9, Z10, Z11)
	ZERO4(VPXORD, Z12, Z13, Z14, Z15)
	XORQ	AX, AX
	MOVQ	k+32(FP), CX

nt_k16:
	CMPQ	CX, $16
	JB	nt_ktail
	VMOVUPS	(SI)(AX*1), Z16
	VMOVUPS	(R12)(AX*1), Z17
	VMOVUPS	(R13)(AX*1), Z18
	VMOVUPS	(DX)(AX*1), Z19
	VMOVUPS	(R8)(AX*1), Z20
	VMOVUPS	(R9)(AX*1), Z21
	VMOVUPS	(R10)(AX*1), Z22
	VMOVUPS	(R11)(AX*1), Z23
	FMA4(Z16, Z20, Z21, Z22, Z23, Z0, Z1, Z2, Z3)
	FMA4(Z17, Z20, Z21, Z22, Z23, Z4, Z5, Z6, Z7)
	FMA4(Z18, Z20, Z21, Z22, Z23, Z8, Z9, Z10, Z11)
	FMA4(Z19, Z20, Z21, Z22, Z23, Z12, Z13, Z14, Z15)
	ADDQ	$64, AX
	SUBQ	$16, CX
	JMP	nt_k16

nt_ktail:
	TESTQ	CX, CX
	JZ	nt_reduce
	VMOVUPS.Z	(SI)(AX*1), K1, Z16
	VMOVUPS.Z	(R12)(AX*1), K1, Z17
	VMOVUPS.Z	(R13)(AX*1), K1, Z18
	VMOVUPS.Z	(DX)(AX*1), K1, Z19
	VMOVUPS.Z	(R8)(AX*1), K1, Z20
	VMOVUPS.Z	(R9)(AX*1), K1, Z21
	VMOVUPS.Z	(R10)(AX*1), K1, Z22
	VMOVUPS.Z	(R11)(AX*1), K1, Z23
	FMA4(Z16, Z20, Z21, Z22, Z23, Z0, Z1, Z2, Z3)
	FMA4(Z17, Z20, Z21, Z22, Z23, Z4, Z5, Z6, Z7)
	FMA4(Z18, Z20, Z21, Z22, Z23, Z8, Z9, Z10, Z11)
	FMA4(Z19, Z20, Z21, Z22, Z23, Z12, Z13, Z14, Z15)

nt_reduce:
	FOLD_Z4E(Z0, Y0, X0, Y16, X16)
	FOLD_Z4E(Z1, Y1, X1, Y16, X16)
	FOLD_Z4E(Z2, Y2, X2, Y16, X16)
	FOLD_Z4E(Z3, Y3, X3, Y16, X16)
	FOLD_Z4E(Z4, Y4, X4, Y16, X16)
	FOLD_Z4E(Z5, Y5, X5, Y16, X16)
	FOLD_Z4E(Z6, Y6, X6, Y16, X16)
	FOLD_Z4E(Z7, Y7, X7, Y16, X16)
	FOLD_Z4E(Z8, Y8, X8, Y16, X16)
	FOLD_Z4E(Z9, Y9, X9, Y16, X16)
	FOLD_Z4E(Z10, Y10, X10, Y16, X16)
	FOLD_Z4E(Z11, Y11, X11, Y16, X16)
	FOLD_Z4E(Z12, Y12, X12, Y16, X16)
	FOLD_Z4E(Z13, Y13, X13, Y16, X16)
	FOLD_Z4E(Z14, Y14, X14, Y16, X16)
	FOLD_Z4E(Z15, Y15, X15, Y16, X16)
	VHADDPS	X1, X0, X0
	VHADDPS	X3, X2, X2
	VHADDPS	X2, X0, X0
	VHADDPS	X5, X4, X4
	VHADDPS	X7, X6, X6
	VHADDPS	X6, X4, X4
	VHADDPS	X9, X8, X8
	VHADDPS	X11, X10, X10
	VHADDPS	X10, X8, X8
	VHADDPS	X13, X12, X12
	VHADDPS	X15, X14, X14
	VHADDPS	X14, X12, X12

	// Column mask K2 = (1 << min(4, columns left)) − 1.
	MOVQ	$4, CX
	CMPQ	BX, CX
	CMOVQLT	BX, CX
	MOVL	$1, AX
	SHLL	CX, AX
	DECL	AX
	KMOVW	AX, K2
	MOVQ	ldc+64(FP), CX
	SHLQ	$2, CX
	MOVQ	DI, AX
	MOVBQZX	acc+72(FP), R9
	MOVQ	rv+24(FP), R10
	TESTQ	R9, R9
	JZ	nt_st0
	VMOVUPS.Z	(AX), K2, X16
	VADDPS	X16, X0, X0

nt_st0:
	VMOVUPS	X0, K2, (AX)
	CMPQ	R10, $2
	JLT	nt_next
	ADDQ	CX, AX
	TESTQ	R9, R9
	JZ	nt_st1
	VMOVUPS.Z	(AX), K2, X16
	VADDPS	X16, X4, X4

nt_st1:
	VMOVUPS	X4, K2, (AX)
	CMPQ	R10, $3
	JLT	nt_next
	ADDQ	CX, AX
	TESTQ	R9, R9
	JZ	nt_st2
	VMOVUPS.Z	(AX), K2, X16
	VADDPS	X16, X8, X8

nt_st2:
	VMOVUPS	X8, K2, (AX)
	CMPQ	R10, $4
	JLT	nt_next
	ADDQ	CX, AX
	TESTQ	R9, R9
	JZ	nt_st3
	VMOVUPS.Z	(AX), K2, X16
	VADDPS	X16, X12, X12

nt_st3:
	VMOVUPS	X12, K2, (AX)

nt_next:
	ADDQ	$16, DI
	MOVQ	ldb+56(FP), AX
	SHLQ	$4, AX
	ADDQ	AX, R8
	SUBQ	$4, BX
	JMP	nt_block

nt_done:
	VZEROUPPER
	RET

// func unitUpdateAVX512(zs, h, ci, zrow *float32, k, ldz int, masks uint64, nv int, invHii, lo, hi float32)
//
// One column panel (at most 64 columns, nv vectors, lane masks in masks) of
// the BCD unit update: g = hᵀ·zs − ci over the whole panel first, then
// zrow = clamp(zrow − g·invHii, lo, hi). Rows of zs are split over two or four
// accumulator sets so that at least eight FMA chains are in flight.
TEXT ·unitUpdateAVX512(SB), NOSPLIT, $0-76
	MOVQ	masks+48(FP), AX
	KMASKS(K1, K2, K3, K4)
	MOVQ	zs+0(FP), SI
	MOVQ	h+8(FP), DX
	MOVQ	k+32(FP), CX
	MOVQ	ldz+40(FP), R9
	SHLQ	$2, R9
	LEAQ	(R9)(R9*2), R10
	ZERO4(VPXORD, Z0, Z1, Z2, Z3)
	ZERO4(VPXORD, Z4, Z5, Z6, Z7)
	MOVQ	nv+56(FP), AX
	CMPQ	AX, $2
	JB	u1
	JE	u2

	// ---- nv = 3 or 4: rows in pairs, 8 accumulators.
u4_2:
	CMPQ	CX, $2
	JB	u4_1
	VBROADCASTSS	(DX), Z20
	VBROADCASTSS	4(DX), Z21
	VFMADD231PS	(SI), Z20, K1, Z0
	VFMADD231PS	64(SI), Z20, K2, Z1
	VFMADD231PS	128(SI), Z20, K3, Z2
	VFMADD231PS	192(SI), Z20, K4, Z3
	VFMADD231PS	(SI)(R9*1), Z21, K1, Z4
	VFMADD231PS	64(SI)(R9*1), Z21, K2, Z5
	VFMADD231PS	128(SI)(R9*1), Z21, K3, Z6
	VFMADD231PS	192(SI)(R9*1), Z21, K4, Z7
	LEAQ	(SI)(R9*2), SI
	ADDQ	$8, DX
	SUBQ	$2, CX
	JMP	u4_2

u4_1:
	TESTQ	CX, CX
	JZ	u4_fin
	VBROADCASTSS	(DX), Z20
	VFMADD231PS	(SI), Z20, K1, Z0
	VFMADD231PS	64(SI), Z20, K2, Z1
	VFMADD231PS	128(SI), Z20, K3, Z2
	VFMADD231PS	192(SI), Z20, K4, Z3

u4_fin:
	ADD4(Z4, Z5, Z6, Z7, Z0, Z1, Z2, Z3)
	MOVQ	ci+16(FP), SI
	MOVQ	zrow+24(FP), DI
	VBROADCASTSS	invHii+64(FP), Z28
	VBROADCASTSS	lo+68(FP), Z29
	VBROADCASTSS	hi+72(FP), Z30
	VMOVUPS.Z	(SI), K1, Z16
	VMOVUPS.Z	64(SI), K2, Z17
	VMOVUPS.Z	128(SI), K3, Z18
	VMOVUPS.Z	192(SI), K4, Z19
	VSUBPS	Z16, Z0, Z0
	VSUBPS	Z17, Z1, Z1
	VSUBPS	Z18, Z2, Z2
	VSUBPS	Z19, Z3, Z3
	VMOVUPS.Z	(DI), K1, Z16
	VMOVUPS.Z	64(DI), K2, Z17
	VMOVUPS.Z	128(DI), K3, Z18
	VMOVUPS.Z	192(DI), K4, Z19
	VFNMADD231PS	Z28, Z0, Z16
	VFNMADD231PS	Z28, Z1, Z17
	VFNMADD231PS	Z28, Z2, Z18
	VFNMADD231PS	Z28, Z3, Z19
	CLAMP4(Z29, Z30, Z16, Z17, Z18, Z19)
	VMOVUPS	Z16, K1, (DI)
	VMOVUPS	Z17, K2, 64(DI)
	VMOVUPS	Z18, K3, 128(DI)
	VMOVUPS	Z19, K4, 192(DI)
	VZEROUPPER
	RET

	// ---- nv = 2: rows in fours, 8 accumulators.
u2:
u2_4:
	CMPQ	CX, $4
	JB	u2_1
	VBROADCASTSS	(DX), Z20
	VBROADCASTSS	4(DX), Z21
	VBROADCASTSS	8(DX), Z22
	VBROADCASTSS	12(DX), Z23
	VFMADD231PS	(SI), Z20, K1, Z0
	VFMADD231PS	64(SI), Z20, K2, Z1
	VFMADD231PS	(SI)(R9*1), Z21, K1, Z2
	VFMADD231PS	64(SI)(R9*1), Z21, K2, Z3
	VFMADD231PS	(SI)(R9*2), Z22, K1, Z4
	VFMADD231PS	64(SI)(R9*2), Z22, K2, Z5
	VFMADD231PS	(SI)(R10*1), Z23, K1, Z6
	VFMADD231PS	64(SI)(R10*1), Z23, K2, Z7
	LEAQ	(SI)(R9*4), SI
	ADDQ	$16, DX
	SUBQ	$4, CX
	JMP	u2_4

u2_1:
	TESTQ	CX, CX
	JZ	u2_fin
	VBROADCASTSS	(DX), Z20
	VFMADD231PS	(SI), Z20, K1, Z0
	VFMADD231PS	64(SI), Z20, K2, Z1
	ADDQ	R9, SI
	ADDQ	$4, DX
	DECQ	CX
	JMP	u2_1

u2_fin:
	ADD4(Z2, Z3, Z6, Z7, Z0, Z1, Z4, Z5)
	VADDPS	Z4, Z0, Z0
	VADDPS	Z5, Z1, Z1
	MOVQ	ci+16(FP), SI
	MOVQ	zrow+24(FP), DI
	VBROADCASTSS	invHii+64(FP), Z28
	VBROADCASTSS	lo+68(FP), Z29
	VBROADCASTSS	hi+72(FP), Z30
	VMOVUPS.Z	(SI), K1, Z16
	VMOVUPS.Z	64(SI), K2, Z17
	VSUBPS	Z16, Z0, Z0
	VSUBPS	Z17, Z1, Z1
	VMOVUPS.Z	(DI), K1, Z16
	VMOVUPS.Z	64(DI), K2, Z17
	VFNMADD231PS	Z28, Z0, Z16
	VFNMADD231PS	Z28, Z1, Z17
	VMAXPS	Z16, Z29, Z16
	VMAXPS	Z17, Z29, Z17
	VMINPS	Z16, Z30, Z16
	VMINPS	Z17, Z30, Z17
	VMOVUPS	Z16, K1, (DI)
	VMOVUPS	Z17, K2, 64(DI)
	VZEROUPPER
	RET

	// ---- nv = 1: rows in fours, 4 accumulators.
u1:
u1_4:
	CMPQ	CX, $4
	JB	u1_1
	VBROADCASTSS	(DX), Z20
	VBROADCASTSS	4(DX), Z21
	VBROADCASTSS	8(DX), Z22
	VBROADCASTSS	12(DX), Z23
	VFMADD231PS	(SI), Z20, K1, Z0
	VFMADD231PS	(SI)(R9*1), Z21, K1, Z1
	VFMADD231PS	(SI)(R9*2), Z22, K1, Z2
	VFMADD231PS	(SI)(R10*1), Z23, K1, Z3
	LEAQ	(SI)(R9*4), SI
	ADDQ	$16, DX
	SUBQ	$4, CX
	JMP	u1_4

u1_1:
	TESTQ	CX, CX
	JZ	u1_fin
	VBROADCASTSS	(DX), Z20
	VFMADD231PS	(SI), Z20, K1, Z0
	ADDQ	R9, SI
	ADDQ	$4, DX
	DECQ	CX
	JMP	u1_1

u1_fin:
	SUM4(Z0, Z1, Z2, Z3)
	MOVQ	ci+16(FP), SI
	MOVQ	zrow+24(FP), DI
	VBROADCASTSS	invHii+64(FP), Z28
	VBROADCASTSS	lo+68(FP), Z29
	VBROADCASTSS	hi+72(FP), Z30
	VMOVUPS.Z	(SI), K1, Z16
	VSUBPS	Z16, Z0, Z0
	VMOVUPS.Z	(DI), K1, Z16
	VFNMADD231PS	Z28, Z0, Z16
	VMAXPS	Z16, Z29, Z16
	VMINPS	Z16, Z30, Z16
	VMOVUPS	Z16, K1, (DI)
	VZEROUPPER
	RET

// func peakFMAAVX512(n int)
//
// The peak-FMA microbenchmark: n iterations of 24 independent 512-bit FMAs
// on registers only (12 accumulators, twice), 768 flops per iteration.
TEXT ·peakFMAAVX512(SB), NOSPLIT, $0-8
	PEAK_KERNEL(VPXORD, Z13, Z12, Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11)

// func sweepAVX512(z, h, c, invH *float32, d, i0, i1 int, lo, hi float32)
//
// Rows i0 … i1−1 of a BCD sweep for one problem (see Sweep): per row i, the
// dot product of row i of the d×d matrix h with z (four accumulators, masked
// tail), summed across lanes, then z[i] = clamp(z[i] − (s − c[i])·invH[i],
// lo, hi) in scalar registers and stored, so that row i+1 reads it.
TEXT ·sweepAVX512(SB), NOSPLIT, $0-64
	MOVQ	d+32(FP), DX
	TAILMASK_K1(DX)
	MOVQ	z+0(FP), DI
	MOVQ	h+8(FP), SI
	MOVQ	c+16(FP), R8
	MOVQ	invH+24(FP), R9
	MOVQ	i0+40(FP), BX
	MOVQ	i1+48(FP), R10
	VMOVSS	lo+56(FP), X14
	VMOVSS	hi+60(FP), X15
	MOVQ	DX, R11
	SHLQ	$2, R11 // row stride in bytes
	MOVQ	BX, AX
	IMULQ	R11, AX
	ADDQ	AX, SI  // SI = row i0 of h
	CMPQ	BX, R10
	JAE	sw_done

sw_row:
	MOVQ	SI, AX
	MOVQ	DI, CX
	MOVQ	DX, R12
	ZERO4(VPXORD, Z0, Z1, Z2, Z3)
	CMPQ	R12, $64
	JB	sw_16

	DOT4_LOOP(sw_64, AX, CX, R12, Z4, Z5, Z6, Z7, Z0, Z1, Z2, Z3)

	DOT16_LOOP(sw_16, sw_tail, AX, CX, R12, Z1)

	DOT_MASKED(sw_tail, sw_sum, AX, CX, R12, Z2)

sw_sum:
	SUM4(Z0, Z1, Z2, Z3)
	HSUM_Z(Z0, Y0, X0, Y1, X1)
	VSUBSS	(R8)(BX*4), X0, X0        // g = s − c[i]
	SWEEP_STEP // v = z[i] − g·invH[i]; (lo > v) ? lo : v; (hi < v) ? hi : v
	ADDQ	R11, SI
	INCQ	BX
	CMPQ	BX, R10
	JB	sw_row

sw_done:
	VZEROUPPER
	RET

// The row of w for the next nonzero of a sparse axpy: AX = idx[k]·ld (bytes,
// R9 = 4·ld), val[k] broadcast into Z4; idx (R8) and val (R10) advance.
#define SPARSE_ROW512 \
	MOVLQSX	(R8), AX; \
	IMULQ	R9, AX; \
	VBROADCASTSS	(R10), Z4; \
	ADDQ	$4, R8; \
	ADDQ	$4, R10

// func sparseAxpyAVX512(y, w *float32, ld int, idx *int32, val *float32, k, cols int, masks uint64)
//
// y[e] += Σ_j val[j]·w[idx[j]·ld + e] for e < cols (k ≥ 1), per element one
// chain of FMAs over j in order (see SparseAxpy). Blocks of 64 columns keep
// y in Z0…Z3 for the whole chain; the last cols mod 64 columns are a block
// under the lane masks (four 16-bit masks in masks, low to high).
TEXT ·sparseAxpyAVX512(SB), NOSPLIT, $0-64
	MOVQ	y+0(FP), DI
	MOVQ	w+8(FP), SI
	MOVQ	ld+16(FP), R9
	SHLQ	$2, R9
	MOVQ	cols+48(FP), DX
	MOVQ	masks+56(FP), AX
	KMASKS(K1, K2, K3, K4)

sp64:
	CMPQ	DX, $64
	JB	sptail
	LOADROW4((DI), Z0, Z1, Z2, Z3)
	MOVQ	idx+24(FP), R8
	MOVQ	val+32(FP), R10
	MOVQ	k+40(FP), CX

sp64_loop:
	SPARSE_ROW512
	FMAROW4(Z4, (SI)(AX*1), Z0, Z1, Z2, Z3)
	DECQ	CX
	JNZ	sp64_loop
	STOREROW4((DI), Z0, Z1, Z2, Z3)
	ADDQ	$256, DI
	ADDQ	$256, SI
	SUBQ	$64, DX
	JMP	sp64

sptail:
	TESTQ	DX, DX
	JZ	spdone
	VMOVUPS.Z	(DI), K1, Z0
	VMOVUPS.Z	64(DI), K2, Z1
	VMOVUPS.Z	128(DI), K3, Z2
	VMOVUPS.Z	192(DI), K4, Z3
	MOVQ	idx+24(FP), R8
	MOVQ	val+32(FP), R10
	MOVQ	k+40(FP), CX

sptail_loop:
	SPARSE_ROW512
	VMOVUPS.Z	(SI)(AX*1), K1, Z5
	VMOVUPS.Z	64(SI)(AX*1), K2, Z6
	VMOVUPS.Z	128(SI)(AX*1), K3, Z7
	VMOVUPS.Z	192(SI)(AX*1), K4, Z8
	FMA4(Z4, Z5, Z6, Z7, Z8, Z0, Z1, Z2, Z3)
	DECQ	CX
	JNZ	sptail_loop
	VMOVUPS	Z0, K1, (DI)
	VMOVUPS	Z1, K2, 64(DI)
	VMOVUPS	Z2, K3, 128(DI)
	VMOVUPS	Z3, K4, 192(DI)

spdone:
	VZEROUPPER
	RET
