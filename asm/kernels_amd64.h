// Macros shared by avx2_amd64.s and avx512_amd64.s. Each file defines the
// byte offsets VW1, VW2, VW3 of the second, third and fourth vector of a
// row (32, 64, 96 for YMM; 64, 128, 192 for ZMM) before including this.

// Zero four vector registers (op: VXORPS for YMM, VPXORD for ZMM).
#define ZERO4(op, a, b, c, d) op a, a, a; op b, b, b; op c, c, c; op d, d, d

// c_i += b_i·x for i = 0…3 (b_i registers or memory operands).
#define FMA4(x, b0, b1, b2, b3, c0, c1, c2, c3) \
	VFMADD231PS	b0, x, c0; \
	VFMADD231PS	b1, x, c1; \
	VFMADD231PS	b2, x, c2; \
	VFMADD231PS	b3, x, c3

// c_i += (the i-th vector of the row at m)·x for i = 0…3.
#define FMAROW4(x, m, c0, c1, c2, c3) FMA4(x, m, VW1 m, VW2 m, VW3 m, c0, c1, c2, c3)

// The four vectors of the row at m to or from a…d.
#define LOADROW4(m, a, b, c, d) VMOVUPS m, a; VMOVUPS VW1 m, b; VMOVUPS VW2 m, c; VMOVUPS VW3 m, d
#define STOREROW4(m, a, b, c, d) VMOVUPS a, m; VMOVUPS b, VW1 m; VMOVUPS c, VW2 m; VMOVUPS d, VW3 m

// a_i += b_i for i = 0…3.
#define ADD4(b0, b1, b2, b3, a0, a1, a2, a3) VADDPS b0, a0, a0; VADDPS b1, a1, a1; VADDPS b2, a2, a2; VADDPS b3, a3, a3

// a_i = min(max(a_i, lo), hi) with the semantics of clampGeneric (see the
// operand order note in each file).
#define CLAMP4(lo, hi, a, b, c, d) \
	VMAXPS	a, lo, a; \
	VMAXPS	b, lo, b; \
	VMAXPS	c, lo, c; \
	VMAXPS	d, lo, d; \
	VMINPS	a, hi, a; \
	VMINPS	b, hi, b; \
	VMINPS	c, hi, c; \
	VMINPS	d, hi, d

// The peak-FMA loop: CX iterations of 24 independent FMAs x·y into twelve
// accumulators (twice each).
#define PEAK_LOOP(lbl, x, y, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11) \
lbl: \
	FMA4(x, y, y, y, y, a0, a1, a2, a3); \
	FMA4(x, y, y, y, y, a4, a5, a6, a7); \
	FMA4(x, y, y, y, y, a8, a9, a10, a11); \
	FMA4(x, y, y, y, y, a0, a1, a2, a3); \
	FMA4(x, y, y, y, y, a4, a5, a6, a7); \
	FMA4(x, y, y, y, y, a8, a9, a10, a11); \
	DECQ	CX; \
	JNZ	lbl

// Row offsets of a block of up to four rows: R12, R13, DX = min(r, rv−1)·stride
// for r = 1, 2, 3, where rv = min(R11, 4) is the number of valid rows. Rows
// past the end repeat the last valid row, so a partial block reads nothing
// outside the matrix and stores identical values over that row.
#define ROWOFFS(stride) \
	MOVQ	$4, AX; \
	CMPQ	R11, AX; \
	CMOVQLT	R11, AX; \
	DECQ	AX; \
	MOVQ	$1, R12; \
	CMPQ	AX, R12; \
	CMOVQLT	AX, R12; \
	IMULQ	stride, R12; \
	MOVQ	$2, R13; \
	CMPQ	AX, R13; \
	CMOVQLT	AX, R13; \
	IMULQ	stride, R13; \
	MOVQ	$3, DX; \
	CMPQ	AX, DX; \
	CMOVQLT	AX, DX; \
	IMULQ	stride, DX
