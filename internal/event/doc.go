// Package event defines what flows through Accord: the Input a protocol reads
// off the wire, and the Envelope every record leaves Accord as, good or failed,
// with its typed Failure.
//
// The envelope is the contract between Accord and everything downstream of it:
// its fields are documented in docs/envelope.md and described by the JSON Schema
// embedded here (Schema), which the tests validate every record against.
package event
