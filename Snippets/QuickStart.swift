// Tensors and gradients: a linear classifier's loss, its gradient by backward(), and one entry of
// that gradient checked against a finite difference.
import Nabla

Random.seed(1)
var weight = Tensor.normal([784, 10], standardDeviation: 0.01)
weight.requiresGradient = true
let images = Tensor.uniform([32, 784])
let labels = Tensor((0..<32).map { Int64($0 % 10) })

func loss(_ w: Tensor) -> Tensor { softmaxCrossEntropy(logits: matmul(images, w), labels: labels).mean() }
let value = loss(weight)
value.backward()
let gradient = weight.gradient ?? Tensor.zeros([784, 10])
print("loss", value.item(), "gradient shape", gradient.shape)

// The same derivative for weight[0, 3], numerically: (L(w + h) − L(w − h)) / 2h.
var step = [Float](repeating: 0, count: 7840)
step[3] = 1e-2
let nudge = Tensor(step, shape: [784, 10])
let numeric = withoutGradients { (loss(weight + nudge).item() - loss(weight - nudge).item()) / 2e-2 }
let analytic = gradient.toArray(Float.self)[3]
print("d loss / d weight[0, 3]: backward", analytic, "finite difference", numeric)
// float32 differences of a loss near 2.3 carry about 1e-5 of noise: agreement to 5% is the check.
if abs(analytic - numeric) > 0.05 * abs(numeric) { fatalError("the gradient disagrees with the finite difference") }
