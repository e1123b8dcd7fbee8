package app

import "github.com/accord-events/accord/internal/contract"

// BuiltinContracts returns the contracts that ship with Accord (the Snowplow
// event types and standard contexts, the enrichments' contexts), as every
// registry holds them under the user's: for tools that describe what the
// collector resolves, such as accord gen catalog --builtin.
func BuiltinContracts() []*contract.Contract { return builtinContracts() }
