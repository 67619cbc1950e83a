"""synthgen.generators"""
