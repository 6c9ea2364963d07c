/**
 * A store port for a unit test with only the methods the code under test should call; any
 * other method throws, naming itself, so a test fails loudly when the code reaches further.
 */
export function fakePort<Port extends object>(methods: Partial<Port>): Port {
  return new Proxy(methods, {
    get(target, name, receiver) {
      if (name in target || typeof name === 'symbol' || name === 'then') return Reflect.get(target, name, receiver);
      return () => {
        throw new Error(`fake port: ${name} is not provided by this test`);
      };
    },
  }) as Port;
}
