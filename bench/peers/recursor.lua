-- The lab's root key instead of the built-in IANA anchor (placeholder filled from the lab's trust-anchor.ds).
clearTA('.')
addTA('.', '@ROOT_DS@')
