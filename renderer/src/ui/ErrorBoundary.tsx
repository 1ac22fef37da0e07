import { Component, type ErrorInfo, type ReactNode } from 'react';
import { errorText } from '../platform.js';

interface Props {
  /** Where the error happened, for the message ("the Library view"). */
  where: string;
  children: ReactNode;
}

/** Keeps a failing view from blanking the window: shows what failed and a way on. */
export class ErrorBoundary extends Component<Props, { error: unknown }> {
  override state: { error: unknown } = { error: null };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    // Kept for the developer tools; the user sees the message below.
    console.warn(`${this.props.where} failed`, error, info.componentStack);
  }

  override render() {
    if (this.state.error === null) return this.props.children;
    return (
      <div className="view-error" role="alert">
        <h2>{this.props.where} could not be shown</h2>
        <p className="error-text">{errorText(this.state.error)}</p>
        <div className="row">
          <button type="button" className="btn" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
          <a className="btn btn-quiet" href="#/library">
            Go to the library
          </a>
        </div>
      </div>
    );
  }
}
