package contract

import (
	"regexp"
	"regexp/syntax"
)

// fastPattern matches a string against a contract's pattern. Most patterns
// in contracts are one ASCII character class repeated over the whole
// string (^[A-Z]{3}$, ^[a-z0-9_-]+$): those are checked byte by byte
// against a table, a tenth of the cost of running the regexp; any other
// pattern runs the regexp, as the stock validator does.
type fastPattern struct {
	re *regexp.Regexp
	// class, when set, is the whole pattern: a string matches when every
	// byte is in class and there are min to max of them (max -1: any).
	class    *[256]bool
	min, max int
}

// compilePattern compiles p, with the same engine and syntax as the stock
// validator (Go's regexp, which santhosh-tekuri/jsonschema uses).
func compilePattern(p string) (*fastPattern, error) {
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	fp := &fastPattern{re: re}
	tree, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return fp, nil
	}
	if class, min, max, ok := wholeClass(tree); ok {
		fp.class, fp.min, fp.max = class, min, max
	}
	return fp, nil
}

// wholeClass recognises ^C{min,max}$ (and ^C+$, ^C*$, ^C?$, ^C$) for a
// character class C of ASCII characters only.
func wholeClass(re *syntax.Regexp) (*[256]bool, int, int, bool) {
	if re.Op != syntax.OpConcat || len(re.Sub) != 3 || re.Sub[0].Op != syntax.OpBeginText || re.Sub[2].Op != syntax.OpEndText {
		return nil, 0, 0, false
	}
	rep := re.Sub[1]
	var min, max int
	var class *syntax.Regexp
	switch rep.Op {
	case syntax.OpCharClass:
		min, max, class = 1, 1, rep
	case syntax.OpPlus, syntax.OpStar, syntax.OpQuest:
		class = rep.Sub[0]
		min, max = map[syntax.Op]int{syntax.OpPlus: 1, syntax.OpStar: 0, syntax.OpQuest: 0}[rep.Op], -1
		if rep.Op == syntax.OpQuest {
			max = 1
		}
	case syntax.OpRepeat:
		class, min, max = rep.Sub[0], rep.Min, rep.Max
	default:
		return nil, 0, 0, false
	}
	if class.Op != syntax.OpCharClass {
		return nil, 0, 0, false
	}
	var table [256]bool
	for i := 0; i+1 < len(class.Rune); i += 2 {
		lo, hi := class.Rune[i], class.Rune[i+1]
		if hi >= 0x80 {
			return nil, 0, 0, false // beyond ASCII: a byte is not a character
		}
		for r := lo; r <= hi; r++ {
			table[r] = true
		}
	}
	return &table, min, max, true
}

// Match reports whether s (valid UTF-8) matches the pattern.
func (p *fastPattern) Match(s []byte) bool {
	if p.class == nil {
		return p.re.Match(s)
	}
	if len(s) < p.min || (p.max >= 0 && len(s) > p.max) {
		return false
	}
	for _, c := range s {
		if !p.class[c] {
			return false
		}
	}
	return true
}
