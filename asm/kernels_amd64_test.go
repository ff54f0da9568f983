//go:build !purego

package asm

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/klauspost/cpuid/v2"
	"github.com/stretchr/testify/require"
)

func init() {
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		peakLoops = append(peakLoops, peakLoop{tier: AVX2, flopsPerIter: 24 * 8 * 2, run: peakFMAAVX2})
	}
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512VL) {
		peakLoops = append(peakLoops, peakLoop{tier: AVX512, flopsPerIter: 24 * 16 * 2, run: peakFMAAVX512})
	}
}

// TestTiersMatchCPU: the tiers offered are exactly those cpuid allows, so a
// CPU with AVX-512 can never silently run AVX2 or generic code.
func TestTiersMatchCPU(t *testing.T) {
	var want []Tier
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512VL) {
		want = append(want, AVX512)
	}
	if cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) {
		want = append(want, AVX2)
	}
	want = append(want, Generic)
	require.Equal(t, want, Available(), "CPU: %s, features %v", cpuid.CPU.BrandName, cpuid.CPU.FeatureSet())
	t.Logf("CPU %s: tiers %v", cpuid.CPU.BrandName, Available())
}

// TestAVX2SourceIsAVX2Only lints avx2_amd64.s and the header it includes
// (kernels_amd64.h): no ZMM or opmask registers,
// no registers 16…31, no EVEX-only suffixes or instructions (the AVX2 tier
// runs on CPUs without AVX-512, where any of these is SIGILL), no
// VMASKMOVPS/VPMASKMOVD, whose masked-out lanes AMD allows to fault, and no
// scalar FMA with a memory operand (see SWEEP_STEP in kernels_amd64.h).
func TestAVX2SourceIsAVX2Only(t *testing.T) {
	for _, name := range []string{"avx2_amd64.s", "kernels_amd64.h"} {
		src, err := os.ReadFile(filepath.Join(sourceDir(), name))
		require.NoError(t, err)
		lintAVX2(t, name, string(src))
	}
}

func lintAVX2(t *testing.T, name, src string) {
	bad := []*regexp.Regexp{
		regexp.MustCompile(`\b[ZK][0-9]+\b`),
		regexp.MustCompile(`\b[XY](1[6-9]|2[0-9]|3[01])\b`),
		regexp.MustCompile(`\.(Z|BCST|SAE|RN_SAE|RD_SAE|RU_SAE|RZ_SAE)\b`),
		regexp.MustCompile(`\b(K[A-Z]+[BWDQ]|V[A-Z0-9]*(32X[248]|64X[24])|VP(XOR|AND|OR|ANDN)[DQ]|VMOVDQ[AU](8|16|32|64)|VPTERNLOG[DQ]|VPERM[IT]2[A-Z]+|VCOMPRESS[A-Z]+|VEXPAND[A-Z]+|VRNDSCALE[A-Z]+|VSCALEF[A-Z]+|VGETEXP[A-Z]+|VRANGE[A-Z]+|VREDUCE[A-Z]+|VFIXUPIMM[A-Z]+)\b`),
	}
	bad = append(bad, regexp.MustCompile(`\bV?P?MASKMOV[A-Z]*\b`))
	// A scalar FMA with a memory operand: QEMU 7.2 (TCG) reads 16 bytes for
	// it, which faults past the end of a slice in the Haswell CI run.
	bad = append(bad, regexp.MustCompile(`\bVFN?M(ADD|SUB)(132|213|231)S[SD]\b.*\(`))
	for i, line := range strings.Split(src, "\n") {
		code, _, _ := strings.Cut(line, "//")
		for _, re := range bad {
			if m := re.FindString(code); m != "" {
				t.Errorf("%s:%d uses %q (AVX-512 encoding or masked move): %s", name, i+1, m, strings.TrimSpace(line))
			}
		}
	}
}

// sweepBlocks: the blocked AVX2 sweep kernel, for the tests of split_test.go.
var sweepBlocks = sweepBlockKernel{tier: AVX2, rows: 8, f: sweep8AVX2}
