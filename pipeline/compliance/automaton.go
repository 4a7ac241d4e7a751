package compliance

// automaton is an Aho–Corasick automaton compiled to a DFA over byte
// classes: one table look-up per byte of text, no allocation, and a flag
// on the transition that says whether a pattern ends at the state entered,
// so that the loop over text free of terms does nothing else. Bytes that
// occur in no pattern share class 0, which keeps the table as narrow as the
// patterns' alphabet (Han text uses a few lead bytes and the 64
// continuation bytes).
type automaton struct {
	class  [256]uint8
	stride uint32 // the number of classes: a state's row in next
	// next is indexed by a premultiplied state (state*stride) plus a class;
	// it holds the premultiplied state entered, with outFlag set when that
	// state ends a pattern (its own or one of its suffixes').
	next []uint32
	// own is the pattern that ends at a state, or -1; dict is the nearest
	// proper suffix state that ends a pattern, or 0 (the root ends none).
	own  []int32
	dict []uint32
	// length is each pattern's length in bytes.
	length []int32
}

const outFlag = 1 << 31

// newAutomaton compiles patterns (non-empty, distinct). It returns nil for
// no patterns.
func newAutomaton(patterns []string) *automaton {
	if len(patterns) == 0 {
		return nil
	}
	a := &automaton{}
	var used [256]bool
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	n := uint32(1)
	for b := range used {
		if used[b] {
			a.class[b] = uint8(n)
			n++
		}
	}
	// Normalised text keeps ASCII letters and digits, UTF-8 lead and
	// continuation bytes: about 150 byte values, so a class fits a byte.
	if n > 256 {
		panic("compliance: automaton alphabet over 255 byte values")
	}
	a.stride = n
	a.newState()
	for pi, p := range patterns {
		s := uint32(0)
		for i := 0; i < len(p); i++ {
			c := s*a.stride + uint32(a.class[p[i]])
			if a.next[c] == 0 {
				a.next[c] = a.newState() * a.stride
			}
			s = a.next[c] / a.stride
		}
		a.own[s] = int32(pi)
		a.length = append(a.length, int32(len(p)))
	}
	a.link()
	return a
}

func (a *automaton) newState() uint32 {
	s := uint32(len(a.own))
	a.next = append(a.next, make([]uint32, a.stride)...)
	a.own = append(a.own, -1)
	a.dict = append(a.dict, 0)
	return s
}

// link turns the trie into the DFA, breadth first: a missing edge goes
// where the failure state's edge goes, and each state learns its nearest
// suffix that ends a pattern.
func (a *automaton) link() {
	states := uint32(len(a.own))
	fail := make([]uint32, states)
	isChild := make([]bool, states) // set once a state is reached as a trie child
	queue := make([]uint32, 0, states)
	for c := uint32(0); c < a.stride; c++ {
		if t := a.next[c] / a.stride; t != 0 {
			isChild[t] = true
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := fail[s]
		if a.own[f] >= 0 {
			a.dict[s] = f
		} else {
			a.dict[s] = a.dict[f]
		}
		for c := uint32(0); c < a.stride; c++ {
			row := s*a.stride + c
			t := a.next[row] / a.stride
			if t != 0 && !isChild[t] {
				isChild[t] = true
				fail[t] = a.next[f*a.stride+c] / a.stride
				queue = append(queue, t)
				continue
			}
			if t == 0 {
				a.next[row] = a.next[f*a.stride+c]
			}
		}
	}
	for i, v := range a.next {
		if t := v / a.stride; a.own[t] >= 0 || a.dict[t] != 0 {
			a.next[i] = v | outFlag
		}
	}
}

// each calls fn for every occurrence of every pattern in text, overlapping
// ones included, in order of their end.
func (a *automaton) each(text []byte, fn func(pattern, start, end int)) {
	if a == nil {
		return
	}
	next, class := a.next, &a.class
	s := uint32(0)
	for i := 0; i < len(text); i++ {
		v := next[s+uint32(class[text[i]])]
		s = v &^ outFlag
		if v&outFlag == 0 {
			continue
		}
		end := i + 1
		for st := s / a.stride; st != 0; st = a.dict[st] {
			if p := a.own[st]; p >= 0 {
				fn(int(p), end-int(a.length[p]), end)
			}
		}
	}
}
