import NablaNN
