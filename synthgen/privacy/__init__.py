"""synthgen.privacy"""
