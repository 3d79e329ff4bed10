import { isModelLister, type ModelLister } from './models.js';
import type { OperationDescriptor, ProviderDriver, ProviderReadiness, ReadinessContext } from './types.js';

/** The providers known to this process, by id. main.ts builds it; tests build their own. */
export class ProviderRegistry {
  private readonly drivers = new Map<string, ProviderDriver>();

  constructor(drivers: Iterable<ProviderDriver> = []) {
    for (const d of drivers) this.register(d);
  }

  register(driver: ProviderDriver): void {
    this.drivers.set(driver.id, driver);
  }

  get(id: string): ProviderDriver | undefined {
    return this.drivers.get(id);
  }

  operation(providerId: string, operationId: string): OperationDescriptor | undefined {
    return this.drivers.get(providerId)?.operations.find((o) => o.id === operationId);
  }

  /** The provider's model table and listing call, when it has models to choose from. */
  models(providerId: string): ModelLister | undefined {
    const driver = this.drivers.get(providerId);
    return isModelLister(driver) ? driver : undefined;
  }

  /** Whether a provider can work right now (key, public URL…); an unknown id is not configured. */
  async readiness(providerId: string, context: ReadinessContext): Promise<ProviderReadiness> {
    const driver = this.drivers.get(providerId);
    if (!driver) return { configured: false, reason: 'provider_unknown' };
    return driver.readiness ? driver.readiness(context) : { configured: true };
  }

  list(): ProviderDriver[] {
    return [...this.drivers.values()];
  }
}
