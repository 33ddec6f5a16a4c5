"""Code shared by the ingest, writer and status functions.

Every function's deployment asset includes the whole ``functions`` package, so this
package is imported, never copied.
"""
