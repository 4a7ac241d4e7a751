package vectorcache

import "math"

// Codes. Each cached row keeps its vector x as int8 codes c with one scale
// s (the largest |x_j| over 127), so that x = s·c + r with every |r_j| at
// most s/2. For a query q the cosine splits the same way,
//
//	q·x / (|q| |x|) = s (q·c) / (|q| |x|) + q·r / (|q| |x|),
//
// and by Cauchy–Schwarz the second term is at most |r| / |x| in size. So
// each row carries fac = s/|x| and slack = |r|/|x| (plus room for rounding),
// and a scan of the codes gives every row an interval that holds its exact
// score: approx ± slack, approx = fac·(q·c)/|q|. The scan keeps the rows
// whose interval could reach the K-th best lower end, and only those are
// scored exactly, from the vectors in the spill file. On listing-title
// vectors slack is small, so a top-K query re-ranks few rows beyond K: a
// query reads a quarter of the memory a scan of the float32 vectors reads
// and a few rows of the file, and answers exactly what that scan would.

// codeMax is the largest code magnitude.
const codeMax = 127

// roundingSlack covers the rounding of the float64 arithmetic that computes
// approx and the exact score (relative errors near 1e-14): an interval
// widened by it still holds the exact score as computed.
const roundingSlack = 1e-9

// quantise writes vec's codes into dst (len(vec) of them) and returns its
// fac and slack. ok is false for a vector that cannot be coded this way: a
// zero vector, or one with a value that is not finite or whose squares
// overflow; such rows are kept as they are and scored exactly.
func quantise(dst []int8, vec []float32) (fac, slack float64, ok bool) {
	var maxAbs, normSq float64
	for _, x := range vec {
		a := math.Abs(float64(x))
		if !(a <= math.MaxFloat32) { // NaN or infinity
			return 0, 0, false
		}
		maxAbs = max(maxAbs, a)
		normSq += a * a
	}
	if normSq == 0 || math.IsInf(normSq, 0) {
		return 0, 0, false
	}
	scale := maxAbs / codeMax
	var restSq float64
	for j, x := range vec {
		c := max(-codeMax, min(codeMax, math.Round(float64(x)/scale)))
		dst[j] = int8(c)
		r := float64(x) - c*scale
		restSq += r * r
	}
	norm := math.Sqrt(normSq)
	return scale / norm, math.Sqrt(restSq)/norm*(1+roundingSlack) + roundingSlack, true
}

// codeValue[uint8(c)] is float64(c): a load from a 2 KiB table that stays
// in the L1 cache is faster than converting each int8.
var codeValue = func() (t [256]float64) {
	for i := range t {
		t[i] = float64(int8(uint8(i)))
	}
	return t
}()

// dotCodes is q·c in float64, with four accumulators so that the additions
// overlap.
func dotCodes(q []float64, c []int8) float64 {
	c = c[:len(q)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(q); i += 4 {
		s0 += q[i] * codeValue[uint8(c[i])]
		s1 += q[i+1] * codeValue[uint8(c[i+1])]
		s2 += q[i+2] * codeValue[uint8(c[i+2])]
		s3 += q[i+3] * codeValue[uint8(c[i+3])]
	}
	for ; i < len(q); i++ {
		s0 += q[i] * codeValue[uint8(c[i])]
	}
	return (s0 + s1) + (s2 + s3)
}

// exactScore is the row's cosine as listinggen.Cosine computes it (the
// query's squared norm qSq given), clamped like ClampScore.
func exactScore(q []float64, qSq float64, vec []float32) float64 {
	var nb float64
	for _, x := range vec {
		nb += float64(x) * float64(x)
	}
	if qSq == 0 || nb == 0 {
		return 0
	}
	return ClampScore(dot(q, vec) / math.Sqrt(qSq*nb))
}
