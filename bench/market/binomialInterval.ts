// The central interval that holds a Binomial(n, p) count with probability `level`: what the end
// to end test checks its count of forged jobs against.
export function binomialInterval(n: number, p: number, level = 0.99): { low: number; high: number } {
  const tail = (1 - level) / 2
  const pmf: number[] = []
  let term = (1 - p) ** n
  for (let k = 0; k <= n; k++) {
    pmf.push(term)
    term = p >= 1 ? 0 : (term * (n - k) * p) / ((k + 1) * (1 - p))
  }
  let low = 0
  let below = 0
  while (low < n && below + pmf[low]! <= tail) below += pmf[low++]!
  let high = n
  let above = 0
  while (high > 0 && above + pmf[high]! <= tail) above += pmf[high--]!
  return { low, high }
}
