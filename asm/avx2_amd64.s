//go:build !purego

#include "textflag.h"

// Byte offsets of the vectors of a row, for kernels_amd64.h.
#define VW1 32
#define VW2 64
#define VW3 96
#define VB4 128
#define VN4 32

#include "kernels_amd64.h"

// AVX2 + FMA kernels, 256-bit vectors of 8 float32. Nothing here may use an
// AVX-512 encoding (no Z or K registers, no X16…X31/Y16…Y31, no EVEX-only
// instructions): kernels_amd64_test.go lints this file for them.
//
// No kernel reads or writes a byte outside its slices, and none uses
// VMASKMOVPS: AMD leaves faults on its masked-out lanes implementation
// dependent (and QEMU raises them), so a masked tail could fault on the page
// after a slice. Instead the streaming kernels and the k/column loops take
// multiples of 8 and the Go wrappers (kernels_amd64.go) finish the few
// remaining elements, and the panel kernels (gemm, unit update) cover a
// panel of w ≥ 8 columns with full vectors whose last one is shifted back to
// end at column w: overlapping columns are computed twice, identically.
//
// Operand order is Go's: VFMADD231PS B, A, D computes D += A·B, and
// VMAXPS V, LO, V is Intel's (LO > V) ? LO : V, which keeps a NaN V and a −0 V
// against a +0 bound, exactly like clampGeneric.

// Sum the 8 lanes of Y into the low lane of X (XT scratch).
#define HSUM_Y(Y, X, XT) \
	VEXTRACTF128	$1, Y, XT; \
	VADDPS	XT, X, X; \
	VMOVHLPS	X, X, XT; \
	VADDPS	XT, X, X; \
	VMOVSHDUP	X, XT; \
	VADDSS	XT, X, X

// Store (l0+l2)+(l1+l3) of the four float64 lanes of Y (X its low half) to
// m (X8 scratch).
#define HSUM4x64(Y, X, m) \
	VEXTRACTF128	$1, Y, X8; \
	VADDPD	X8, X, X; \
	VHADDPD	X, X, X; \
	VMOVSD	X, m

// One vector a step of a dot product (cnt a multiple of 8; x, y advance).
#define DOT8_LOOP(lbl, done, x, y, cnt, acc) \
lbl: \
	TESTQ	cnt, cnt; \
	JZ	done; \
	VMOVUPS	(x), Y4; \
	VFMADD231PS	(y), Y4, acc; \
	ADDQ	$32, x; \
	ADDQ	$32, y; \
	SUBQ	$8, cnt; \
	JMP	lbl

// Fold the 8 lanes of Y into 4 partial sums in X.
#define FOLD_Y4(Y, X, XT) \
	VEXTRACTF128	$1, Y, XT; \
	VADDPS	XT, X, X

// func dotAVX2(x, y *float32, n int) float32  (n a multiple of 8)
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ	x+0(FP), SI
	MOVQ	y+8(FP), DI
	MOVQ	n+16(FP), DX
	ZERO4(VXORPS, Y0, Y1, Y2, Y3)
	CMPQ	DX, $32
	JB	d8

	DOT4_LOOP(d32, SI, DI, DX, Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)

	DOT8_LOOP(d8, dsum, SI, DI, DX, Y0)

dsum:
	SUM4(Y0, Y1, Y2, Y3)
	HSUM_Y(Y0, X0, X1)
	VMOVSS	X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)  (n a multiple of 8)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS	alpha+0(FP), Y0
	MOVQ	x+8(FP), SI
	MOVQ	y+16(FP), DI
	MOVQ	n+24(FP), DX
	CMPQ	DX, $32
	JB	a8

	AXPY4_LOOP(a32, Y0, SI, DI, DX, Y1, Y2, Y3, Y4)

a8:
	TESTQ	DX, DX
	JZ	adone
	VMOVUPS	(DI), Y1
	VFMADD231PS	(SI), Y0, Y1
	VMOVUPS	Y1, (DI)
	ADDQ	$32, SI
	ADDQ	$32, DI
	SUBQ	$8, DX
	JMP	a8

adone:
	VZEROUPPER
	RET

// func clampAVX2(x *float32, n int, lo, hi float32)  (n a multiple of 8)
TEXT ·clampAVX2(SB), NOSPLIT, $0-24
	MOVQ	x+0(FP), DI
	MOVQ	n+8(FP), DX
	VBROADCASTSS	lo+16(FP), Y0
	VBROADCASTSS	hi+20(FP), Y1
	CMPQ	DX, $32
	JB	c8

	CLAMP4_LOOP(c32, Y0, Y1, DI, DX, Y2, Y3, Y4, Y5)

c8:
	TESTQ	DX, DX
	JZ	cdone
	VMOVUPS	(DI), Y2
	VMAXPS	Y2, Y0, Y2
	VMINPS	Y2, Y1, Y2
	VMOVUPS	Y2, (DI)
	ADDQ	$32, DI
	SUBQ	$8, DX
	JMP	c8

cdone:
	VZEROUPPER
	RET

// func matVecAVX2(y, a, x *float32, m, n, lda int, acc bool)  (n a multiple of 8)
//
// Four rows at a time share each load of x; two vectors of columns per row
// give eight accumulators.
TEXT ·matVecAVX2(SB), NOSPLIT, $0-49
	MOVQ	y+0(FP), DI
	MOVQ	a+8(FP), SI
	MOVQ	x+16(FP), DX
	MOVQ	m+24(FP), R11
	MOVQ	n+32(FP), R12
	MOVQ	lda+40(FP), R8
	SHLQ	$2, R8
	LEAQ	(R8)(R8*2), R9
	MOVBQZX	acc+48(FP), R13

mv4:
	CMPQ	R11, $4
	JB	mv1
	ZERO4(VXORPS, Y0, Y1, Y2, Y3)
	ZERO4(VXORPS, Y4, Y5, Y6, Y7)
	MOVQ	SI, AX
	MOVQ	DX, BX
	MOVQ	R12, CX

mv4_16:
	CMPQ	CX, $16
	JB	mv4_8
	VMOVUPS	(BX), Y8
	VMOVUPS	32(BX), Y9
	FMA4ROWS2(Y8, Y9, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	ADDQ	$64, AX
	ADDQ	$64, BX
	SUBQ	$16, CX
	JMP	mv4_16

mv4_8:
	TESTQ	CX, CX
	JZ	mv4_sum
	VMOVUPS	(BX), Y8
	FMA4(Y8, (AX), (AX)(R8*1), (AX)(R8*2), (AX)(R9*1), Y1, Y3, Y5, Y7)

mv4_sum:
	ADD4(Y1, Y3, Y5, Y7, Y0, Y2, Y4, Y6)
	FOLD_Y4(Y0, X0, X1)
	FOLD_Y4(Y2, X2, X3)
	FOLD_Y4(Y4, X4, X5)
	FOLD_Y4(Y6, X6, X7)
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
	VXORPS	Y0, Y0, Y0
	VXORPS	Y1, Y1, Y1
	MOVQ	SI, AX
	MOVQ	DX, BX
	MOVQ	R12, CX

mv1_16:
	CMPQ	CX, $16
	JB	mv1_8
	VMOVUPS	(BX), Y8
	VMOVUPS	32(BX), Y9
	VFMADD231PS	(AX), Y8, Y0
	VFMADD231PS	32(AX), Y9, Y1
	ADDQ	$64, AX
	ADDQ	$64, BX
	SUBQ	$16, CX
	JMP	mv1_16

mv1_8:
	TESTQ	CX, CX
	JZ	mv1_sum
	VMOVUPS	(BX), Y8
	VFMADD231PS	(AX), Y8, Y1

mv1_sum:
	VADDPS	Y1, Y0, Y0
	HSUM_Y(Y0, X0, X1)
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

// func matTVecAVX2(y, a, x *float32, m, n, lda int, acc bool)  (n a multiple of 8)
//
// y[j] (+)= Σ_i x[i]·a[i*lda+j]: column blocks of 32 stay in registers while
// the rows stream past, even and odd rows in separate accumulators.
TEXT ·matTVecAVX2(SB), NOSPLIT, $0-49
	MOVQ	y+0(FP), DI
	MOVQ	a+8(FP), SI
	MOVQ	x+16(FP), DX
	MOVQ	m+24(FP), R11
	MOVQ	n+32(FP), R12
	MOVQ	lda+40(FP), R8
	SHLQ	$2, R8
	MOVBQZX	acc+48(FP), R13

	MATTVEC_BLOCK4(VXORPS, mt32, mt8, mt32_init, mt32_2, mt32_1, mt32_store, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9)

mt8:
	TESTQ	R12, R12
	JZ	mtdone
	VXORPS	Y0, Y0, Y0
	TESTQ	R13, R13
	JZ	mt8_init
	VMOVUPS	(DI), Y0

mt8_init:
	VXORPS	Y4, Y4, Y4
	MOVQ	SI, AX
	MOVQ	DX, BX
	MOVQ	R11, CX

mt8_2:
	CMPQ	CX, $2
	JB	mt8_1
	VBROADCASTSS	(BX), Y8
	VBROADCASTSS	4(BX), Y9
	VFMADD231PS	(AX), Y8, Y0
	VFMADD231PS	(AX)(R8*1), Y9, Y4
	LEAQ	(AX)(R8*2), AX
	ADDQ	$8, BX
	SUBQ	$2, CX
	JMP	mt8_2

mt8_1:
	TESTQ	CX, CX
	JZ	mt8_store
	VBROADCASTSS	(BX), Y8
	VFMADD231PS	(AX), Y8, Y0

mt8_store:
	VADDPS	Y4, Y0, Y0
	VMOVUPS	Y0, (DI)
	ADDQ	$32, DI
	ADDQ	$32, SI
	SUBQ	$8, R12
	JMP	mt8

mtdone:
	VZEROUPPER
	RET


// One step p of the 4-row block: B row p in Y8 (columns 0…7) and Y9
// (columns w−8…w−1), A column p broadcast row by row.
#define GEMM2_FMAS \
	VBROADCASTSS	(AX), Y10; \
	VFMADD231PS	Y8, Y10, Y0; \
	VFMADD231PS	Y9, Y10, Y1; \
	VBROADCASTSS	(AX)(R12*1), Y11; \
	VFMADD231PS	Y8, Y11, Y2; \
	VFMADD231PS	Y9, Y11, Y3; \
	VBROADCASTSS	(AX)(R13*1), Y12; \
	VFMADD231PS	Y8, Y12, Y4; \
	VFMADD231PS	Y9, Y12, Y5; \
	VBROADCASTSS	(AX)(DX*1), Y13; \
	VFMADD231PS	Y8, Y13, Y6; \
	VFMADD231PS	Y9, Y13, Y7

// func gemmAVX2(c, a, b *float32, m, k, lda, ldb, ldc, w int, acc bool)
//
// One column panel of C of 8 ≤ w ≤ 16 columns for all m rows, in blocks of
// four rows × two vectors (eight accumulators). The second vector starts at
// column w−8 (R10 holds its byte offset), so a narrower panel overlaps the
// first vector instead of reading past the panel; every accumulator of a
// block is loaded from C before any is stored, so with acc the overlapping
// columns get identical values.
TEXT ·gemmAVX2(SB), NOSPLIT, $16-73
	MOVQ	c+0(FP), DI
	MOVQ	a+8(FP), SI
	MOVQ	m+24(FP), R11
	MOVQ	lda+40(FP), R8
	SHLQ	$2, R8
	MOVQ	ldb+48(FP), R9
	SHLQ	$2, R9
	MOVQ	ldc+56(FP), CX
	SHLQ	$2, CX
	MOVQ	CX, ldcb-8(SP)
	MOVQ	w+64(FP), R10
	SUBQ	$8, R10
	SHLQ	$2, R10

gblock:
	TESTQ	R11, R11
	JLE	gdone
	ZERO4(VXORPS, Y0, Y1, Y2, Y3)
	ZERO4(VXORPS, Y4, Y5, Y6, Y7)
	CMPB	acc+72(FP), $0
	JE	gk
	MOVQ	ldcb-8(SP), CX
	ROWOFFS(CX)
	VMOVUPS	(DI), Y0
	VMOVUPS	(DI)(R10*1), Y1
	LEAQ	(DI)(R12*1), BX
	VMOVUPS	(BX), Y2
	VMOVUPS	(BX)(R10*1), Y3
	LEAQ	(DI)(R13*1), BX
	VMOVUPS	(BX), Y4
	VMOVUPS	(BX)(R10*1), Y5
	LEAQ	(DI)(DX*1), BX
	VMOVUPS	(BX), Y6
	VMOVUPS	(BX)(R10*1), Y7

gk:
	ROWOFFS(R8)
	MOVQ	SI, AX
	MOVQ	b+16(FP), BX
	MOVQ	k+32(FP), CX

gloop:
	VMOVUPS	(BX), Y8
	VMOVUPS	(BX)(R10*1), Y9
	GEMM2_FMAS
	ADDQ	$4, AX
	ADDQ	R9, BX
	DECQ	CX
	JNZ	gloop

	MOVQ	ldcb-8(SP), CX
	ROWOFFS(CX)
	VMOVUPS	Y0, (DI)
	VMOVUPS	Y1, (DI)(R10*1)
	LEAQ	(DI)(R12*1), BX
	VMOVUPS	Y2, (BX)
	VMOVUPS	Y3, (BX)(R10*1)
	LEAQ	(DI)(R13*1), BX
	VMOVUPS	Y4, (BX)
	VMOVUPS	Y5, (BX)(R10*1)
	LEAQ	(DI)(DX*1), BX
	VMOVUPS	Y6, (BX)
	VMOVUPS	Y7, (BX)(R10*1)
	LEAQ	(DI)(CX*4), DI
	LEAQ	(SI)(R8*4), SI
	SUBQ	$4, R11
	JMP	gblock

gdone:
	VZEROUPPER
	RET

// Eight FMAs of a 4×2 GemmNT block: B rows in Y8, Y9, A rows loaded one by
// one.
#define NT_FMAS \
	VMOVUPS	(R8)(AX*1), Y8; \
	VMOVUPS	(R9)(AX*1), Y9; \
	VMOVUPS	(SI)(AX*1), Y10; \
	VFMADD231PS	Y8, Y10, Y0; \
	VFMADD231PS	Y9, Y10, Y1; \
	VMOVUPS	(R12)(AX*1), Y11; \
	VFMADD231PS	Y8, Y11, Y2; \
	VFMADD231PS	Y9, Y11, Y3; \
	VMOVUPS	(R13)(AX*1), Y12; \
	VFMADD231PS	Y8, Y12, Y4; \
	VFMADD231PS	Y9, Y12, Y5; \
	VMOVUPS	(DX)(AX*1), Y13; \
	VFMADD231PS	Y8, Y13, Y6; \
	VFMADD231PS	Y9, Y13, Y7

// Reduce the two accumulators of a row to [c_j0, c_j1, c_j0, c_j1] in XA.
#define NT_ROW(YA, XA, YB, XB) \
	VEXTRACTF128	$1, YA, X14; \
	VADDPS	X14, XA, XA; \
	VEXTRACTF128	$1, YB, X14; \
	VADDPS	X14, XB, XB; \
	VHADDPS	XB, XA, XA; \
	VHADDPS	XA, XA, XA

// func gemmNTAVX2(c, a, b *float32, rv, k, n, lda, ldb, ldc int, acc bool)  (k a positive multiple of 8)
//
// One block of rv ≤ 4 rows of C = A·Bᵀ, two rows of B at a time: eight
// accumulators hold the 4×2 dot products.
TEXT ·gemmNTAVX2(SB), NOSPLIT, $0-73
	MOVQ	a+8(FP), SI
	MOVQ	lda+48(FP), R8
	SHLQ	$2, R8
	MOVQ	rv+24(FP), R11
	ROWOFFS(R8)
	ADDQ	SI, R12
	ADDQ	SI, R13
	ADDQ	SI, DX
	MOVQ	c+0(FP), DI
	MOVQ	b+16(FP), R8
	MOVQ	n+40(FP), BX

nt_block:
	TESTQ	BX, BX
	JLE	nt_done
	// Second B row: R9 = R8 + ldb if two or more columns are left, else R8.
	MOVQ	R8, R9
	CMPQ	BX, $2
	JLT	nt_b1
	MOVQ	ldb+56(FP), AX
	LEAQ	(R8)(AX*4), R9

nt_b1:
	ZERO4(VXORPS, Y0, Y1, Y2, Y3)
	ZERO4(VXORPS, Y4, Y5, Y6, Y7)
	XORQ	AX, AX
	MOVQ	k+32(FP), CX

nt_k8:
	NT_FMAS
	ADDQ	$32, AX
	SUBQ	$8, CX
	JNZ	nt_k8

nt_reduce:
	NT_ROW(Y0, X0, Y1, X1)
	NT_ROW(Y2, X2, Y3, X3)
	NT_ROW(Y4, X4, Y5, X5)
	NT_ROW(Y6, X6, Y7, X7)
	MOVQ	ldc+64(FP), CX
	SHLQ	$2, CX
	MOVQ	DI, AX
	MOVBQZX	acc+72(FP), R10
	MOVQ	rv+24(FP), R11
	CMPQ	BX, $2
	JLT	nt_one

	// Two columns: 8-byte loads and stores.
	TESTQ	R10, R10
	JZ	nt2_0
	VMOVSD	(AX), X8
	VADDPS	X8, X0, X0

nt2_0:
	VMOVSD	X0, (AX)
	CMPQ	R11, $2
	JLT	nt_next
	ADDQ	CX, AX
	TESTQ	R10, R10
	JZ	nt2_1
	VMOVSD	(AX), X8
	VADDPS	X8, X2, X2

nt2_1:
	VMOVSD	X2, (AX)
	CMPQ	R11, $3
	JLT	nt_next
	ADDQ	CX, AX
	TESTQ	R10, R10
	JZ	nt2_2
	VMOVSD	(AX), X8
	VADDPS	X8, X4, X4

nt2_2:
	VMOVSD	X4, (AX)
	CMPQ	R11, $4
	JLT	nt_next
	ADDQ	CX, AX
	TESTQ	R10, R10
	JZ	nt2_3
	VMOVSD	(AX), X8
	VADDPS	X8, X6, X6

nt2_3:
	VMOVSD	X6, (AX)
	JMP	nt_next

nt_one:
	// One column left: 4-byte loads and stores.
	TESTQ	R10, R10
	JZ	nt1_0
	VADDSS	(AX), X0, X0

nt1_0:
	VMOVSS	X0, (AX)
	CMPQ	R11, $2
	JLT	nt_next
	ADDQ	CX, AX
	TESTQ	R10, R10
	JZ	nt1_1
	VADDSS	(AX), X2, X2

nt1_1:
	VMOVSS	X2, (AX)
	CMPQ	R11, $3
	JLT	nt_next
	ADDQ	CX, AX
	TESTQ	R10, R10
	JZ	nt1_2
	VADDSS	(AX), X4, X4

nt1_2:
	VMOVSS	X4, (AX)
	CMPQ	R11, $4
	JLT	nt_next
	ADDQ	CX, AX
	TESTQ	R10, R10
	JZ	nt1_3
	VADDSS	(AX), X6, X6

nt1_3:
	VMOVSS	X6, (AX)

nt_next:
	ADDQ	$8, DI
	MOVQ	ldb+56(FP), AX
	LEAQ	(R8)(AX*8), R8
	SUBQ	$2, BX
	JMP	nt_block

nt_done:
	VZEROUPPER
	RET

// func unitUpdateAVX2(zs, h, ci, zrow *float32, k, ldz, w int, invHii, lo, hi float32)
//
// One column panel (8 ≤ w ≤ 32 columns) of the BCD unit update: g = hᵀ·zs −
// ci over the whole panel first, then zrow = clamp(zrow − g·invHii, lo, hi).
// The four vectors start at columns min(8v, w−8) (byte offsets 0, R10, R11,
// R12): a narrower panel repeats its last, shifted vector instead of reading
// past the panel. Rows go in pairs to two sets of four accumulators (a panel
// of at most 16 columns: two vectors, rows in fours). All of ci and zrow is
// loaded before anything is stored, so overlapping columns get identical
// values.
TEXT ·unitUpdateAVX2(SB), NOSPLIT, $0-68
	MOVQ	w+48(FP), BX
	CMPQ	BX, $16
	JBE	u2v
	SUBQ	$8, BX
	MOVQ	$8, R10
	CMPQ	BX, R10
	CMOVQLT	BX, R10
	SHLQ	$2, R10
	MOVQ	$16, R11
	CMPQ	BX, R11
	CMOVQLT	BX, R11
	SHLQ	$2, R11
	MOVQ	$24, R12
	CMPQ	BX, R12
	CMOVQLT	BX, R12
	SHLQ	$2, R12
	MOVQ	zs+0(FP), SI
	MOVQ	h+8(FP), DX
	MOVQ	k+32(FP), CX
	MOVQ	ldz+40(FP), R9
	SHLQ	$2, R9
	ZERO4(VXORPS, Y0, Y1, Y2, Y3)
	ZERO4(VXORPS, Y4, Y5, Y6, Y7)

u_2:
	CMPQ	CX, $2
	JB	u_1
	VBROADCASTSS	(DX), Y8
	VBROADCASTSS	4(DX), Y9
	LEAQ	(SI)(R9*1), BX
	FMA4(Y8, (SI), (SI)(R10*1), (SI)(R11*1), (SI)(R12*1), Y0, Y1, Y2, Y3)
	FMA4(Y9, (BX), (BX)(R10*1), (BX)(R11*1), (BX)(R12*1), Y4, Y5, Y6, Y7)
	LEAQ	(SI)(R9*2), SI
	ADDQ	$8, DX
	SUBQ	$2, CX
	JMP	u_2

u_1:
	TESTQ	CX, CX
	JZ	u_fin
	VBROADCASTSS	(DX), Y8
	FMA4(Y8, (SI), (SI)(R10*1), (SI)(R11*1), (SI)(R12*1), Y0, Y1, Y2, Y3)

u_fin:
	ADD4(Y4, Y5, Y6, Y7, Y0, Y1, Y2, Y3)
	MOVQ	ci+16(FP), SI
	MOVQ	zrow+24(FP), DI
	VBROADCASTSS	invHii+56(FP), Y8
	VBROADCASTSS	lo+60(FP), Y9
	VBROADCASTSS	hi+64(FP), Y10
	VSUBPS	(SI), Y0, Y0
	VSUBPS	(SI)(R10*1), Y1, Y1
	VSUBPS	(SI)(R11*1), Y2, Y2
	VSUBPS	(SI)(R12*1), Y3, Y3
	VMOVUPS	(DI), Y4
	VMOVUPS	(DI)(R10*1), Y5
	VMOVUPS	(DI)(R11*1), Y6
	VMOVUPS	(DI)(R12*1), Y7
	VFNMADD231PS	Y8, Y0, Y4
	VFNMADD231PS	Y8, Y1, Y5
	VFNMADD231PS	Y8, Y2, Y6
	VFNMADD231PS	Y8, Y3, Y7
	CLAMP4(Y9, Y10, Y4, Y5, Y6, Y7)
	VMOVUPS	Y4, (DI)
	VMOVUPS	Y5, (DI)(R10*1)
	VMOVUPS	Y6, (DI)(R11*1)
	VMOVUPS	Y7, (DI)(R12*1)
	VZEROUPPER
	RET

	// ---- w ≤ 16: vectors at columns 0 and w−8 (byte offset R10), rows in
	// fours, eight accumulators.
u2v:
	SUBQ	$8, BX
	SHLQ	$2, BX
	MOVQ	BX, R10
	MOVQ	zs+0(FP), SI
	MOVQ	h+8(FP), DX
	MOVQ	k+32(FP), CX
	MOVQ	ldz+40(FP), R9
	SHLQ	$2, R9
	ZERO4(VXORPS, Y0, Y1, Y2, Y3)
	ZERO4(VXORPS, Y4, Y5, Y6, Y7)

u2v_4:
	CMPQ	CX, $4
	JB	u2v_1
	VBROADCASTSS	(DX), Y8
	VBROADCASTSS	4(DX), Y9
	VBROADCASTSS	8(DX), Y10
	VBROADCASTSS	12(DX), Y11
	VFMADD231PS	(SI), Y8, Y0
	VFMADD231PS	(SI)(R10*1), Y8, Y1
	LEAQ	(SI)(R9*1), BX
	VFMADD231PS	(BX), Y9, Y2
	VFMADD231PS	(BX)(R10*1), Y9, Y3
	LEAQ	(BX)(R9*1), BX
	VFMADD231PS	(BX), Y10, Y4
	VFMADD231PS	(BX)(R10*1), Y10, Y5
	LEAQ	(BX)(R9*1), BX
	VFMADD231PS	(BX), Y11, Y6
	VFMADD231PS	(BX)(R10*1), Y11, Y7
	LEAQ	(SI)(R9*4), SI
	ADDQ	$16, DX
	SUBQ	$4, CX
	JMP	u2v_4

u2v_1:
	TESTQ	CX, CX
	JZ	u2v_fin
	VBROADCASTSS	(DX), Y8
	VFMADD231PS	(SI), Y8, Y0
	VFMADD231PS	(SI)(R10*1), Y8, Y1
	ADDQ	R9, SI
	ADDQ	$4, DX
	DECQ	CX
	JMP	u2v_1

u2v_fin:
	ADD4(Y2, Y3, Y6, Y7, Y0, Y1, Y4, Y5)
	VADDPS	Y4, Y0, Y0
	VADDPS	Y5, Y1, Y1
	MOVQ	ci+16(FP), SI
	MOVQ	zrow+24(FP), DI
	VBROADCASTSS	invHii+56(FP), Y8
	VBROADCASTSS	lo+60(FP), Y9
	VBROADCASTSS	hi+64(FP), Y10
	VSUBPS	(SI), Y0, Y0
	VSUBPS	(SI)(R10*1), Y1, Y1
	VMOVUPS	(DI), Y4
	VMOVUPS	(DI)(R10*1), Y5
	VFNMADD231PS	Y8, Y0, Y4
	VFNMADD231PS	Y8, Y1, Y5
	VMAXPS	Y4, Y9, Y4
	VMAXPS	Y5, Y9, Y5
	VMINPS	Y4, Y10, Y4
	VMINPS	Y5, Y10, Y5
	VMOVUPS	Y4, (DI)
	VMOVUPS	Y5, (DI)(R10*1)
	VZEROUPPER
	RET

// func peakFMAAVX2(n int)
//
// The peak-FMA microbenchmark: n iterations of 24 independent 256-bit FMAs
// on registers only (12 accumulators, twice), 384 flops per iteration.
TEXT ·peakFMAAVX2(SB), NOSPLIT, $0-8
	PEAK_KERNEL(VXORPS, Y13, Y12, Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11)

// sweepMask<>+4·(8−k) is the mask of the lanes ≥ k of a vector (k = 0…8):
// eight zero words, then eight all-ones words.
DATA	sweepMask<>+0(SB)/8, $0
DATA	sweepMask<>+8(SB)/8, $0
DATA	sweepMask<>+16(SB)/8, $0
DATA	sweepMask<>+24(SB)/8, $0
DATA	sweepMask<>+32(SB)/8, $-1
DATA	sweepMask<>+40(SB)/8, $-1
DATA	sweepMask<>+48(SB)/8, $-1
DATA	sweepMask<>+56(SB)/8, $-1
GLOBL	sweepMask<>(SB), RODATA|NOPTR, $64

// Window row k of a block: the diagonal chunk (h row at m, z in Y8) masked
// to the lanes ≥ k (columns from the row's own on) into accumulator acc.
#define SWEEP8_DIAG(k, m, acc) \
	VMOVUPS	m, Y9; \
	VANDPS	sweepMask<>+(32-4*k)(SB), Y9, Y9; \
	VANDPS	sweepMask<>+(32-4*k)(SB), Y8, Y10; \
	VFMADD231PS	Y10, Y9, acc

// The shifted last chunk of a row (h at m) masked by Y12 (z, masked, in Y8).
#define SWEEP8_TAIL(m, acc) \
	VANDPS	m, Y12, Y9; \
	VFMADD231PS	Y9, Y8, acc

// X8 += m·x (m loaded first: see SWEEP_STEP on QEMU and scalar FMAs).
#define SWEEP8_TRI(m, x) VMOVSS	m, X9; VFMADD231SS	X9, x, X8

// Row k of a whole block in phase B: X8 = (s_k − c[r]) from buf, plus the
// products with the block's new values (the FMAs before), then
// z[r] = clamp(z[r] − X8·invH[r], lo, hi) into x and memory (z[r0] at CX,
// invH[r0] at R8).
#define SWEEP8_S(k) VMOVSS	buf-32+4*k(SP), X8
#define SWEEP8_STEP(k, x) \
	VMOVSS	4*k(R8), X9; \
	VMOVSS	4*k(CX), x; \
	VFNMADD231SS	X9, X8, x; \
	VMAXSS	x, X14, x; \
	VMINSS	x, X15, x; \
	VMOVSS	x, 4*k(CX)

// func sweep8AVX2(z, h, c, invH *float32, d, i0, i1 int, lo, hi float32)
//
// Rows i0 … i1−1 of a BCD sweep for one problem (see Sweep), d ≥ 8, i0 a
// multiple of 8 and i1 one or d, in blocks of eight rows r0 … r1−1.
//
// Phase A computes the eight rows' dot products at once, except for the
// products with the block's own columns left of each row's, z[p] for
// r0 ≤ p < r: a window of eight rows (rb = min(r0, d−8) … rb+7: the last,
// partial block's window is shifted back so that it reads only rows of h)
// times the column chunks of z (at 8v for v < d/8, then one ending at column
// d whose lanes also in the chunk before are masked out by Y12), each z chunk
// loaded once for the eight rows. The diagonal chunk (columns rb … rb+7) is
// masked for window row k to its lanes ≥ k, in h and in z, so that no stale
// infinity meets a zero. The chunk of the block before, just computed, comes
// from Y13 rather than from memory, where the load would wait for the
// scalar stores. The eight sums are added across lanes together.
//
// Phase B goes down the rows in scalar registers: g = (s − c[r]) +
// Σ_{r0≤p<r} h[r][p]·z[p] with the new z[p], z[r] = clamp(z[r] − g·invH[r],
// lo, hi), stored. Only the last product and the step lie on the path from
// one unit to the next. A whole block is unrolled, its new values kept in
// X0…X7 (and gathered into Y13); the partial last block loops.
//
// The products are summed in another order than the reference's, which the
// contract allows. No load reaches past a row of h or past z.
TEXT ·sweep8AVX2(SB), NOSPLIT, $32-64
	MOVQ	z+0(FP), DI
	MOVQ	h+8(FP), SI
	MOVQ	d+32(FP), R10
	MOVQ	i0+40(FP), BX
	VMOVSS	lo+56(FP), X14
	VMOVSS	hi+60(FP), X15
	MOVQ	R10, R11
	SHLQ	$2, R11 // row stride in bytes
	LEAQ	(R11)(R11*2), R12
	MOVQ	R10, AX
	ANDQ	$7, AX
	LEAQ	sweepMask<>(SB), CX
	VMOVUPS	(CX)(AX*4), Y12 // the lanes ≥ 8 − d mod 8 of the last chunk

s8_block:
	CMPQ	BX, i1+48(FP)
	JAE	s8_done

	// ---- Phase A. R13 = rb; AX, R9 = rows rb and rb+4 at column CX.
	LEAQ	-8(R10), R13
	CMPQ	BX, R13
	CMOVQLT	BX, R13
	ZERO4(VXORPS, Y0, Y1, Y2, Y3)
	ZERO4(VXORPS, Y4, Y5, Y6, Y7)
	MOVQ	R13, AX
	IMULQ	R11, AX
	ADDQ	SI, AX
	LEAQ	(AX)(R11*4), R9
	MOVQ	R10, DX
	ANDQ	$-8, DX
	SHLQ	$2, DX // end of the whole chunks
	LEAQ	(BX*4), R10 // the diagonal chunk (done below)
	MOVQ	R10, R8 // from R8: the chunk of the block before, if in Y13
	CMPQ	BX, i0+40(FP)
	JE	s8_first
	SUBQ	$32, R8

s8_first:
	XORQ	CX, CX

s8_plain:
	CMPQ	CX, DX
	JAE	s8_diag
	CMPQ	CX, R8
	JB	s8_plain_fma
	CMPQ	CX, R10
	JBE	s8_plain_next

s8_plain_fma:
	VMOVUPS	(DI)(CX*1), Y8
	FMA4(Y8, (AX), (AX)(R11*1), (AX)(R11*2), (AX)(R12*1), Y0, Y1, Y2, Y3)
	FMA4(Y8, (R9), (R9)(R11*1), (R9)(R11*2), (R9)(R12*1), Y4, Y5, Y6, Y7)

s8_plain_next:
	ADDQ	$32, AX
	ADDQ	$32, R9
	ADDQ	$32, CX
	JMP	s8_plain

s8_diag:
	MOVQ	d+32(FP), R10
	MOVQ	R13, AX
	IMULQ	R11, AX
	ADDQ	SI, AX // row rb
	LEAQ	(AX)(R13*4), CX // row rb at column rb
	LEAQ	(CX)(R11*4), R9
	VMOVUPS	(DI)(R13*4), Y8
	SWEEP8_DIAG(0, (CX), Y0)
	SWEEP8_DIAG(1, (CX)(R11*1), Y1)
	SWEEP8_DIAG(2, (CX)(R11*2), Y2)
	SWEEP8_DIAG(3, (CX)(R12*1), Y3)
	SWEEP8_DIAG(4, (R9), Y4)
	SWEEP8_DIAG(5, (R9)(R11*1), Y5)
	SWEEP8_DIAG(6, (R9)(R11*2), Y6)
	SWEEP8_DIAG(7, (R9)(R12*1), Y7)

	// The block before (columns r0−8 … r0−1) from Y13.
	CMPQ	BX, i0+40(FP)
	JE	s8_tail
	LEAQ	-32(AX)(BX*4), CX // row rb at column r0−8
	LEAQ	(CX)(R11*4), R9
	FMA4(Y13, (CX), (CX)(R11*1), (CX)(R11*2), (CX)(R12*1), Y0, Y1, Y2, Y3)
	FMA4(Y13, (R9), (R9)(R11*1), (R9)(R11*2), (R9)(R12*1), Y4, Y5, Y6, Y7)

s8_tail:
	// The shifted last chunk (column d−8), unless it is the diagonal one
	// (last block) or d is a multiple of 8 (then it was a whole chunk).
	LEAQ	8(BX), CX
	CMPQ	CX, R10
	JAE	s8_sum
	TESTQ	$7, R10
	JZ	s8_sum
	LEAQ	-32(AX)(R11*1), CX // row rb at column d−8
	LEAQ	(CX)(R11*4), R9
	VMOVUPS	-32(DI)(R10*4), Y8
	VANDPS	Y12, Y8, Y8
	SWEEP8_TAIL((CX), Y0)
	SWEEP8_TAIL((CX)(R11*1), Y1)
	SWEEP8_TAIL((CX)(R11*2), Y2)
	SWEEP8_TAIL((CX)(R12*1), Y3)
	SWEEP8_TAIL((R9), Y4)
	SWEEP8_TAIL((R9)(R11*1), Y5)
	SWEEP8_TAIL((R9)(R11*2), Y6)
	SWEEP8_TAIL((R9)(R12*1), Y7)

s8_sum:
	// The eight sums s_k of window row k into Y1 (lane k).
	VHADDPS	Y1, Y0, Y0
	VHADDPS	Y3, Y2, Y2
	VHADDPS	Y5, Y4, Y4
	VHADDPS	Y7, Y6, Y6
	VHADDPS	Y2, Y0, Y0
	VHADDPS	Y6, Y4, Y4
	VPERM2F128	$0x20, Y4, Y0, Y1
	VPERM2F128	$0x31, Y4, Y0, Y2
	VADDPS	Y2, Y1, Y1
	MOVQ	c+16(FP), R8
	LEAQ	8(BX), DX
	CMPQ	DX, R10
	JA	s8_part

	// ---- Phase B, a whole block (rb = r0): CX = &z[r0], R8 = &invH[r0],
	// AX, DX = rows r0 and r0+4 at column r0.
	VSUBPS	(R8)(BX*4), Y1, Y1 // s − c[r0…r0+7]
	VMOVUPS	Y1, buf-32(SP)
	MOVQ	invH+24(FP), R8
	LEAQ	(R8)(BX*4), R8
	LEAQ	(DI)(BX*4), CX
	LEAQ	(AX)(BX*4), AX
	LEAQ	(AX)(R11*4), DX
	VMOVAPS	X1, X8 // s_0 − c[r0] without the round trip through buf
	SWEEP8_STEP(0, X0)
	SWEEP8_S(1)
	SWEEP8_TRI(0(AX)(R11*1), X0)
	SWEEP8_STEP(1, X1)
	SWEEP8_S(2)
	SWEEP8_TRI(0(AX)(R11*2), X0)
	SWEEP8_TRI(4(AX)(R11*2), X1)
	SWEEP8_STEP(2, X2)
	SWEEP8_S(3)
	SWEEP8_TRI(0(AX)(R12*1), X0)
	SWEEP8_TRI(4(AX)(R12*1), X1)
	SWEEP8_TRI(8(AX)(R12*1), X2)
	SWEEP8_STEP(3, X3)
	SWEEP8_S(4)
	SWEEP8_TRI(0(DX), X0)
	SWEEP8_TRI(4(DX), X1)
	SWEEP8_TRI(8(DX), X2)
	SWEEP8_TRI(12(DX), X3)
	SWEEP8_STEP(4, X4)
	SWEEP8_S(5)
	SWEEP8_TRI(0(DX)(R11*1), X0)
	SWEEP8_TRI(4(DX)(R11*1), X1)
	SWEEP8_TRI(8(DX)(R11*1), X2)
	SWEEP8_TRI(12(DX)(R11*1), X3)
	SWEEP8_TRI(16(DX)(R11*1), X4)
	SWEEP8_STEP(5, X5)
	SWEEP8_S(6)
	SWEEP8_TRI(0(DX)(R11*2), X0)
	SWEEP8_TRI(4(DX)(R11*2), X1)
	SWEEP8_TRI(8(DX)(R11*2), X2)
	SWEEP8_TRI(12(DX)(R11*2), X3)
	SWEEP8_TRI(16(DX)(R11*2), X4)
	SWEEP8_TRI(20(DX)(R11*2), X5)
	SWEEP8_STEP(6, X6)
	SWEEP8_S(7)
	SWEEP8_TRI(0(DX)(R12*1), X0)
	SWEEP8_TRI(4(DX)(R12*1), X1)
	SWEEP8_TRI(8(DX)(R12*1), X2)
	SWEEP8_TRI(12(DX)(R12*1), X3)
	SWEEP8_TRI(16(DX)(R12*1), X4)
	SWEEP8_TRI(20(DX)(R12*1), X5)
	SWEEP8_TRI(24(DX)(R12*1), X6)
	SWEEP8_STEP(7, X7)

	// Y13 = z[r0 … r0+7] for the next block.
	VUNPCKLPS	X1, X0, X0
	VUNPCKLPS	X3, X2, X2
	VMOVLHPS	X2, X0, X0
	VUNPCKLPS	X5, X4, X4
	VUNPCKLPS	X7, X6, X6
	VMOVLHPS	X6, X4, X4
	VINSERTF128	$1, X4, Y0, Y13
	ADDQ	$8, BX
	JMP	s8_block

s8_part:
	// ---- Phase B, the partial last block: rows BX … d−1, R12 = r0,
	// R13 = &buf[r − rb], AX = row r, X13 = z[r−1].
	VMOVUPS	Y1, buf-32(SP)
	MOVQ	invH+24(FP), R9
	MOVQ	BX, CX
	SUBQ	R13, CX
	LEAQ	buf-32(SP), R13
	LEAQ	(R13)(CX*4), R13
	MOVQ	BX, R12
	MOVQ	BX, AX
	IMULQ	R11, AX
	ADDQ	SI, AX

s8_row:
	VMOVSS	(R13), X0
	VSUBSS	(R8)(BX*4), X0, X0 // s − c[r]
	LEAQ	1(R12), CX

s8_tri:
	// + h[r][p]·z[p] for r0 ≤ p < r−1 (CX = p+1), stored by earlier rows.
	CMPQ	CX, BX
	JAE	s8_last
	VMOVSS	-4(AX)(CX*4), X2
	VMOVSS	-4(DI)(CX*4), X3
	VFMADD231SS	X3, X2, X0
	INCQ	CX
	JMP	s8_tri

s8_last:
	CMPQ	BX, R12
	JE	s8_step
	VMOVSS	-4(AX)(BX*4), X2
	VFMADD231SS	X2, X13, X0 // + h[r][r−1]·z[r−1]

s8_step:
	SWEEP_STEP // v = z[r] − g·invH[r]; (lo > v) ? lo : v; (hi < v) ? hi : v
	VMOVAPS	X1, X13
	ADDQ	R11, AX
	ADDQ	$4, R13
	INCQ	BX
	CMPQ	BX, R10
	JB	s8_row

s8_done:
	VZEROUPPER
	RET

// func dot4x2AVX2(a0, a1, a2, a3, b0, b1 *float64, k int, lanes *[32]float64, s *[8]float64)
//
// The float64 micro-kernel of Dot4x2 (also the avx512 tier's: its order is
// the four lanes of a YMM register, shared by every SIMD tier). For k a
// multiple of 4, the lanes of entry e = 2r+c (register Ye) accumulate
// a_r[p]·b_c[p] for p ≡ i (mod 4) in lane i, fused, in index order, from
// +0, or, when lanes is not nil, from lanes[4e : 4e+4] (a previous call's),
// and are stored back there; s[e] = (l0+l2)+(l1+l3). The wrapper
// (dot4x2Lanes, split.go) cuts long calls and adds the products past k.
TEXT ·dot4x2AVX2(SB), NOSPLIT, $0-72
	MOVQ	a0+0(FP), AX
	MOVQ	a1+8(FP), BX
	MOVQ	a2+16(FP), CX
	MOVQ	a3+24(FP), DX
	MOVQ	b0+32(FP), SI
	MOVQ	b1+40(FP), DI
	MOVQ	k+48(FP), R8
	MOVQ	lanes+56(FP), R9
	MOVQ	s+64(FP), R12
	LEAQ	VB4(R9), R11
	TESTQ	R9, R9
	JZ	d42_zero
	LOADROW4((R9), Y0, Y1, Y2, Y3)
	LOADROW4((R11), Y4, Y5, Y6, Y7)
	JMP	d42_start

d42_zero:
	ZERO4(VXORPD, Y0, Y1, Y2, Y3)
	ZERO4(VXORPD, Y4, Y5, Y6, Y7)

d42_start:
	XORQ	R10, R10
	SHLQ	$3, R8

d42_loop:
	CMPQ	R10, R8
	JAE	d42_done
	VMOVUPD	(SI)(R10*1), Y8
	VMOVUPD	(DI)(R10*1), Y9
	VMOVUPD	(AX)(R10*1), Y10
	VFMADD231PD	Y8, Y10, Y0
	VFMADD231PD	Y9, Y10, Y1
	VMOVUPD	(BX)(R10*1), Y11
	VFMADD231PD	Y8, Y11, Y2
	VFMADD231PD	Y9, Y11, Y3
	VMOVUPD	(CX)(R10*1), Y12
	VFMADD231PD	Y8, Y12, Y4
	VFMADD231PD	Y9, Y12, Y5
	VMOVUPD	(DX)(R10*1), Y13
	VFMADD231PD	Y8, Y13, Y6
	VFMADD231PD	Y9, Y13, Y7
	ADDQ	$32, R10
	JMP	d42_loop

d42_done:
	TESTQ	R9, R9
	JZ	d42_sum
	STOREROW4((R9), Y0, Y1, Y2, Y3)
	STOREROW4((R11), Y4, Y5, Y6, Y7)

d42_sum:
	// Horizontal sums: (l0+l2)+(l1+l3) for each accumulator.
	HSUM4x64(Y0, X0, 0(R12))
	HSUM4x64(Y1, X1, 8(R12))
	HSUM4x64(Y2, X2, 16(R12))
	HSUM4x64(Y3, X3, 24(R12))
	HSUM4x64(Y4, X4, 32(R12))
	HSUM4x64(Y5, X5, 40(R12))
	HSUM4x64(Y6, X6, 48(R12))
	HSUM4x64(Y7, X7, 56(R12))
	VZEROUPPER
	RET

// The row of w for the next nonzero of a sparse axpy: AX = idx[k]·ld (bytes,
// R9 = 4·ld); idx (R8) and val (R10, read by the caller first) advance.
#define SPARSE_ROW256 \
	MOVLQSX	(R8), AX; \
	IMULQ	R9, AX; \
	ADDQ	$4, R8

// func sparseAxpyAVX2(y, w *float32, ld int, idx *int32, val *float32, k, cols int)
//
// y[e] += Σ_j val[j]·w[idx[j]·ld + e] for e < cols (k ≥ 1), per element one
// chain of FMAs over j in order (see SparseAxpy), with no access outside
// y[0:cols] and the rows w[idx[j]·ld : idx[j]·ld+cols]. Fewer than 8
// columns: one scalar chain per column. Otherwise, when cols is not a
// multiple of 8, the vector of the last 8 columns is computed first into
// Y15 (loaded before any store) and stored last, over columns that the
// blocks below compute identically; then blocks of 64 columns (Y0…Y7), then
// of 8 (Y0).
TEXT ·sparseAxpyAVX2(SB), NOSPLIT, $0-56
	MOVQ	y+0(FP), DI
	MOVQ	w+8(FP), SI
	MOVQ	ld+16(FP), R9
	SHLQ	$2, R9
	MOVQ	cols+48(FP), DX
	CMPQ	DX, $8
	JAE	spv

spscalar:
	MOVQ	idx+24(FP), R8
	MOVQ	val+32(FP), R10
	MOVQ	k+40(FP), CX
	VMOVSS	(DI), X0

spscalar_loop:
	SPARSE_ROW256
	VMOVSS	(SI)(AX*1), X1
	VMOVSS	(R10), X2
	VFMADD231SS	X1, X2, X0
	ADDQ	$4, R10
	DECQ	CX
	JNZ	spscalar_loop
	VMOVSS	X0, (DI)
	ADDQ	$4, DI
	ADDQ	$4, SI
	DECQ	DX
	JNZ	spscalar
	JMP	spdone

spv:
	MOVQ	DX, R12
	ANDQ	$7, R12
	JZ	sp64
	LEAQ	-32(DI)(DX*4), R12 // the last 8 columns of y
	LEAQ	-32(SI)(DX*4), R13 // and of the rows of w
	VMOVUPS	(R12), Y15
	MOVQ	idx+24(FP), R8
	MOVQ	val+32(FP), R10
	MOVQ	k+40(FP), CX

sptail_loop:
	SPARSE_ROW256
	VBROADCASTSS	(R10), Y8
	VFMADD231PS	(R13)(AX*1), Y8, Y15
	ADDQ	$4, R10
	DECQ	CX
	JNZ	sptail_loop

sp64:
	CMPQ	DX, $64
	JB	sp8
	LOADROW4((DI), Y0, Y1, Y2, Y3)
	VMOVUPS	128(DI), Y4
	VMOVUPS	160(DI), Y5
	VMOVUPS	192(DI), Y6
	VMOVUPS	224(DI), Y7
	MOVQ	idx+24(FP), R8
	MOVQ	val+32(FP), R10
	MOVQ	k+40(FP), CX

sp64_loop:
	SPARSE_ROW256
	VBROADCASTSS	(R10), Y8
	FMAROW4(Y8, (SI)(AX*1), Y0, Y1, Y2, Y3)
	VFMADD231PS	128(SI)(AX*1), Y8, Y4
	VFMADD231PS	160(SI)(AX*1), Y8, Y5
	VFMADD231PS	192(SI)(AX*1), Y8, Y6
	VFMADD231PS	224(SI)(AX*1), Y8, Y7
	ADDQ	$4, R10
	DECQ	CX
	JNZ	sp64_loop
	STOREROW4((DI), Y0, Y1, Y2, Y3)
	VMOVUPS	Y4, 128(DI)
	VMOVUPS	Y5, 160(DI)
	VMOVUPS	Y6, 192(DI)
	VMOVUPS	Y7, 224(DI)
	ADDQ	$256, DI
	ADDQ	$256, SI
	SUBQ	$64, DX
	JMP	sp64

sp8:
	CMPQ	DX, $8
	JB	sptail_store
	VMOVUPS	(DI), Y0
	MOVQ	idx+24(FP), R8
	MOVQ	val+32(FP), R10
	MOVQ	k+40(FP), CX

sp8_loop:
	SPARSE_ROW256
	VBROADCASTSS	(R10), Y8
	VFMADD231PS	(SI)(AX*1), Y8, Y0
	ADDQ	$4, R10
	DECQ	CX
	JNZ	sp8_loop
	VMOVUPS	Y0, (DI)
	ADDQ	$32, DI
	ADDQ	$32, SI
	SUBQ	$8, DX
	JMP	sp8

sptail_store:
	TESTQ	DX, DX
	JZ	spdone
	VMOVUPS	Y15, (R12)

spdone:
	VZEROUPPER
	RET

// func nonzerosAVX2(idx *int32, val, x *float32, n, base int, perm *[256][8]int32, count *[256]uint8) int
//
// Packs the positions base+p and values of the nonzero elements of x[0:n]
// (n a multiple of 8; x != 0 compares unordered-not-equal, so NaN is kept
// and ±0 dropped) to idx and val, and returns their number: per vector of
// 8, the mask of its nonzeros selects a permutation (perm) that moves them
// to the front, the whole vector is stored at the count so far, and the
// count advances by count[mask].
TEXT ·nonzerosAVX2(SB), NOSPLIT, $0-64
	MOVQ	idx+0(FP), DI
	MOVQ	val+8(FP), R8
	MOVQ	x+16(FP), SI
	MOVQ	n+24(FP), CX
	MOVQ	base+32(FP), AX
	MOVQ	perm+40(FP), R9
	MOVQ	count+48(FP), R10
	VMOVQ	AX, X6
	VPBROADCASTD	X6, Y6 // the position of the vector's first element
	MOVQ	$8, AX
	VMOVQ	AX, X7
	VPBROADCASTD	X7, Y7
	VXORPS	Y15, Y15, Y15
	XORQ	DX, DX

nz_loop:
	VMOVUPS	(SI), Y0
	VCMPPS	$4, Y15, Y0, Y1 // NEQ_UQ
	VMOVMSKPS	Y1, AX
	MOVQ	AX, BX
	SHLQ	$5, BX
	VMOVDQU	(R9)(BX*1), Y2
	VPERMPS	Y0, Y2, Y3
	VPADDD	Y6, Y2, Y4
	VMOVDQU	Y4, (DI)(DX*4)
	VMOVUPS	Y3, (R8)(DX*4)
	MOVBQZX	(R10)(AX*1), AX
	ADDQ	AX, DX
	VPADDD	Y7, Y6, Y6
	ADDQ	$32, SI
	SUBQ	$8, CX
	JNZ	nz_loop
	MOVQ	DX, ret+56(FP)
	VZEROUPPER
	RET
