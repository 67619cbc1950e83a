"""synthgen.transforms"""
